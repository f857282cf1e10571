using Serilog.Context;

namespace Aetherra.Api.Http;

/// <summary>Every request gets a Guid v7 id: in the logs, the X-Request-Id header, the events' correlation id and the audit record.</summary>
public sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string Header = "X-Request-Id";
    private const string Item = "aetherra.requestId";

    public async Task InvokeAsync(HttpContext context)
    {
        var id = Guid.CreateVersion7();
        context.Items[Item] = id;
        // One string for the trace identifier and the header (it was formatted twice per request).
        var text = id.ToString();
        context.TraceIdentifier = text;
        // Set when the answer starts, not now: an error answer clears the headers set before it
        // (Response.Clear), and the id matters most on exactly those answers.
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[Header] = text;
            return Task.CompletedTask;
        });
        using (LogContext.PushProperty("RequestId", id))
        {
            await next(context);
        }
    }

    public static Guid RequestId(HttpContext context) =>
        context.Items[Item] is Guid id ? id : throw new InvalidOperationException("no request id");
}

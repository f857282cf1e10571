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
        context.TraceIdentifier = id.ToString();
        // Set when the answer starts, not now: an error answer clears the headers set before it
        // (Response.Clear), and the id matters most on exactly those answers.
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[Header] = id.ToString();
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

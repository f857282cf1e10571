using Microsoft.AspNetCore.Diagnostics;

namespace Aetherra.Api.Http;

/// <summary>
/// Turns known exceptions into their problem answers right where they are thrown, so the idempotency and
/// audit layers around it see a finished response with its real status.
/// </summary>
public sealed class ProblemMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && Problems.TryMap(e, context, out var write))
        {
            context.Response.Clear();
            await write();
        }
    }
}

/// <summary>The last line: known exceptions from the outer middleware (a store outage during authentication,
/// say) get their answer; anything else is a 500 without internals, logged with its request id.</summary>
public sealed class LastResortExceptionHandler(ILogger<LastResortExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (Problems.TryMap(exception, context, out var write))
        {
            await write();
            return true;
        }
        log.LogError(exception, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
        await Problems.Write(context, 500, "Internal error", "An unexpected error occurred; it has been logged with the request id.");
        return true;
    }
}

using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Events;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Database;
using Npgsql;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Events;

public static class EventEndpoints
{
    public const int DefaultLimit = 100;
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>The tenant's events after a sequence, a page at a time, up to the high-water mark.</summary>
    [WolverineGet("/events", OperationId = "events.list"), Authorize(Policy = Scopes.EventsRead)]
    public static async Task<IResult> List(
        long? after, int? limit, string? types, long? minSequence, HttpContext http, EventFeed feed, TenantDatabases databases,
        TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        if (Invalid(http, after, limit, types) is { } problem) return problem;
        await Consistency.WaitForHighWaterAsync(db, minSequence, clock, ct);
        var page = await feed.ReadAsync(http.User.Tenant(), after ?? 0, limit ?? DefaultLimit, Types(types),
            http.User.HasScope(Scopes.MemoryRead), ct);
        return Results.Ok(new { events = page.Events, next = page.Next });
    }

    /// <summary>
    /// The live feed (server-sent events): `id:` is the global sequence; it resumes after Last-Event-ID (or
    /// ?after=), sends a comment line every 15 s, and never an event past the high-water mark.
    /// </summary>
    public static IEndpointRouteBuilder MapEventStream(this IEndpointRouteBuilder app)
    {
        app.MapGet("/events/stream", Stream).RequireAuthorization(Scopes.EventsRead).WithName("events.stream");
        return app;
    }

    private static async Task Stream(HttpContext http, EventFeed feed, HighWaterSignals signals, TimeProvider clock, long? after, string? types)
    {
        var lastEventId = http.Request.Headers["Last-Event-ID"].ToString();
        long cursor;
        if (lastEventId.Length > 0)
        {
            if (!long.TryParse(lastEventId, out cursor) || cursor < 0)
            {
                await RequestValidation.Invalid(http, new Dictionary<string, string[]> { ["Last-Event-ID"] = ["Must be a global sequence (a whole number)."] })
                    .ExecuteAsync(http);
                return;
            }
        }
        else cursor = after ?? 0;
        if (Invalid(http, cursor, null, types) is { } problem)
        {
            await problem.ExecuteAsync(http);
            return;
        }

        var tenant = http.User.Tenant();
        // The sequences, mark and window of the tenant's database (docs/scaling.md).
        var signal = signals.For(tenant);
        var filter = Types(types);
        var mayRead = http.User.HasScope(Scopes.MemoryRead);
        var ct = http.RequestAborted;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        await http.Response.WriteAsync(": connected\n\n", ct);
        await http.Response.Body.FlushAsync(ct);

        var lastWrite = clock.GetUtcNow();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // Near the head of the log, the events come from the window every subscriber shares (read,
                // opened and serialised once); behind it, from the store, a page at a time.
                var window = signal.Window;
                if (window.Serves(tenant, cursor))
                {
                    // One write per advance, however many events it brings.
                    var frames = new System.Buffers.ArrayBufferWriter<byte>();
                    foreach (var e in window.After(cursor))
                        if (e.Tenant == tenant && (filter is null || filter.Contains(e.Type)))
                            System.Buffers.BuffersExtensions.Write(frames, (mayRead ? e.Full : e.Limited).AsSpan());
                    cursor = window.To;
                    if (frames.WrittenCount > 0)
                    {
                        await http.Response.Body.WriteAsync(frames.WrittenMemory, ct);
                        await http.Response.Body.FlushAsync(ct);
                        lastWrite = clock.GetUtcNow();
                    }
                }
                else
                {
                    var page = await feed.ReadAsync(tenant, cursor, EventFeed.MaxLimit, filter, mayRead, ct);
                    foreach (var e in page.Events)
                    {
                        await http.Response.Body.WriteAsync(EventFeed.Frame(e), ct);
                        cursor = e.Sequence;
                    }
                    if (page.Events.Count > 0)
                    {
                        await http.Response.Body.FlushAsync(ct);
                        lastWrite = clock.GetUtcNow();
                    }
                    if (page.Next is not null) continue;
                    // A short page read everything up to its ceiling: other tenants' events and filtered types
                    // below it need no second look.
                    cursor = Math.Max(cursor, page.Ceiling);
                }

                var wait = signal.WaitAboveAsync(cursor, ct);
                var beat = Heartbeat - (clock.GetUtcNow() - lastWrite);
                if (beat <= TimeSpan.Zero || await Task.WhenAny(wait, Task.Delay(beat, clock, ct)) != wait)
                {
                    await http.Response.WriteAsync(": heartbeat\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    lastWrite = clock.GetUtcNow();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static IReadOnlyCollection<string>? Types(string? types) =>
        string.IsNullOrWhiteSpace(types) ? null : types.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static IResult? Invalid(HttpContext http, long? after, int? limit, string? types)
    {
        var errors = new Dictionary<string, string[]>();
        if (after < 0) errors["after"] = ["'After' must be 0 or more."];
        if (limit is < 1 or > EventFeed.MaxLimit) errors["limit"] = [$"'Limit' must be between 1 and {EventFeed.MaxLimit}."];
        if (Types(types) is { } list && (list.Count > 20 || list.Any(t => t.Length > 100)))
            errors["types"] = ["At most 20 event types of at most 100 characters each."];
        return errors.Count > 0 ? RequestValidation.Invalid(http, errors) : null;
    }
}

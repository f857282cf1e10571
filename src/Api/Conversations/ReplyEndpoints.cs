using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Conversations;
using Aetherra.Application.Keys;
using FluentValidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Features;
using Wolverine.Http;

namespace Aetherra.Api.Conversations;

/// <summary>
/// Replies over HTTP: JSON, or server-sent events with <c>Accept: text/event-stream</c>. A request carrying
/// <c>Last-Event-ID</c> resumes the reply that id names: nothing is recorded and no model is called again.
/// </summary>
public static class ReplyEndpoints
{
    [WolverinePost("/conversations/{id}/reply", OperationId = ConversationActions.Reply), Authorize(Policy = Scopes.ConversationsWrite)]
    public static async Task<IResult> Reply(
        Guid id, HttpContext http, IValidator<ReplyRequest> validator, ConversationEngine engine, CancellationToken ct)
    {
        // Read here rather than bound by Wolverine, whose JSON binding refuses (406) a client that accepts only
        // text/event-stream.
        var body = http.Request.HasJsonContentType() ? await http.Request.ReadFromJsonAsync<ReplyRequest>(ct) : null;
        var unstorable = RequestValidation.CheckInput(body, http);
        if (unstorable is not WolverineContinue) return unstorable;
        var invalid = await RequestValidation.ValidateAsync(validator, body, http);
        if (invalid is not WolverineContinue) return invalid;
        ReplyStream stream;
        var after = 0;
        if (LastEventId(http) is { } lastId)
        {
            if (!ResumeReply.TryParseFrameId(lastId, out var turn, out after)) return BadLastEventId(http);
            stream = await ResumeReply.FindAsync(http.User.Tenant(), id, turn, engine, ct);
        }
        else
        {
            stream = await ReplyToConversation.StartAsync(id, body!, http.Command(), engine, ct);
        }

        if (WantsEvents(http))
        {
            // A reply that fails before its first token is a problem answer, not an event stream.
            if (after == 0 && (await stream.FirstAsync(ct)).Event == "error") throw stream.Failure!;
            return new ReplyEvents(stream, after);
        }
        var last = await stream.LastAsync(ct);
        if (last.Event == "error") throw stream.Failure!;
        return Results.Content(last.Data, "application/json");
    }

    /// <summary>The frames of a reply (EventSource's reconnect carries Last-Event-ID; <c>turn</c> is the user or assistant turn).</summary>
    [WolverineGet("/conversations/{id}/turns/{turn}/stream", OperationId = "conversation.reply-stream"), Authorize(Policy = Scopes.ConversationsRead)]
    public static async Task<IResult> Stream(Guid id, int turn, HttpContext http, ConversationEngine engine, CancellationToken ct)
    {
        var after = 0;
        if (LastEventId(http) is { } lastId && !ResumeReply.TryParseFrameId(lastId, out _, out after)) return BadLastEventId(http);
        var stream = await ResumeReply.FindAsync(http.User.Tenant(), id, turn, engine, ct);
        if (after == 0 && (await stream.FirstAsync(ct)).Event == "error" && stream.Failure is { } failure) throw failure;
        return new ReplyEvents(stream, after);
    }

    private static string? LastEventId(HttpContext http) =>
        http.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } id ? id : null;

    private static bool WantsEvents(HttpContext http) =>
        http.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);

    private static IResult BadLastEventId(HttpContext http) =>
        RequestValidation.Invalid(http, new Dictionary<string, string[]>
        {
            ["Last-Event-ID"] = ["'Last-Event-ID' must be an id this reply stream sent: 'turn:frame'."]
        });

    /// <summary>The frames after <c>after</c>, each flushed as it comes: id, event, one line of JSON data.</summary>
    private sealed class ReplyEvents(ReplyStream stream, int after) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            var ct = http.RequestAborted;
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            try
            {
                await foreach (var frame in stream.ReadAsync(after, ct))
                {
                    await http.Response.WriteAsync(
                        $"id: {ResumeReply.FrameId(stream.Turn, frame.N)}\nevent: {frame.Event}\ndata: {frame.Data}\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The client went away; the reply goes on and a reconnect reads on from its Last-Event-ID.
            }
        }
    }
}

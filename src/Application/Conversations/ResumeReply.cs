using System.Text.Json;
using System.Text.RegularExpressions;
using Aetherra.Application.Common;
using Aetherra.Domain.Conversations;
using Marten;

namespace Aetherra.Application.Conversations;

/// <summary>
/// A reply's frames for a client that reconnects: from this node's live stream while it is generated (or shortly
/// after), else rebuilt from the recorded assistant turn, whose frame lengths were recorded with it. Nothing is
/// recorded and no model is called.
/// </summary>
public static partial class ResumeReply
{
    /// <summary>The SSE id of a frame: the user turn the reply answers, and the frame's number in the reply.</summary>
    public static string FrameId(int turn, int n) => $"{turn}:{n}";

    public static bool TryParseFrameId(string? id, out int turn, out int n)
    {
        turn = n = 0;
        var m = id is null ? null : FrameIdPattern().Match(id);
        return m is { Success: true } && int.TryParse(m.Groups[1].ValueSpan, out turn) && int.TryParse(m.Groups[2].ValueSpan, out n) && turn > 0;
    }

    /// <param name="turn">The user turn the reply answers, or the assistant turn that recorded it.</param>
    public static async Task<ReplyStream> FindAsync(string tenant, Guid id, int turn, ConversationEngine engine, CancellationToken ct)
    {
        if (engine.Streams.Find(tenant, id, turn) is { } live) return live;
        await using var session = engine.Store.QuerySession(tenant);
        var c = await session.LoadAsync<Conversation>(id, ct) ?? throw new NotFound("conversation");
        var answer = c.Turns.FirstOrDefault(t => t.Reply is { } r && (r.ReplyTo == turn || t.Number == turn))
                     ?? throw new NotFound("reply");
        var reply = answer.Reply!;
        if (engine.Streams.Find(tenant, id, reply.ReplyTo) is { } byAnswer) return byAnswer;

        var found = await engine.Keys.FindAsync(tenant, [answer.Content.KeyId], ct);
        var content = ConversationContent.Open(found, tenant, id, answer.Number, answer.Content);
        foreach (var key in found.Values) key.Dispose();
        if (content is null) throw new NotFound("reply");

        // Turn n is the stream's event n + 1 (the conversation started with event 1, and closing ends the turns).
        var events = await session.Events.FetchStreamAsync(id, answer.Number + 1, token: ct);
        var sequence = events.Count > 0 ? events[^1].Sequence : 0;
        var rebuilt = new ReplyStream(tenant, id, reply.ReplyTo);
        foreach (var frame in Grounding.Frames(content, reply.Frames)) rebuilt.Token(frame);
        rebuilt.Done(JsonSerializer.Serialize(ReplyToConversation.Result(answer.Number, content, answer.Citations, reply, sequence),
            JsonSerializerOptions.Web), answer.At);
        return rebuilt;
    }

    [GeneratedRegex(@"^\s*(\d{1,9}):(\d{1,9})\s*$")]
    private static partial Regex FrameIdPattern();
}

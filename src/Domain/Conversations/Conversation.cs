using Aetherra.Domain.Memory;

namespace Aetherra.Domain.Conversations;

public sealed record Turn(
    int Number, TurnRole Role, EncryptedText Content, IReadOnlyList<Citation> Citations, ReplyInfo? Reply, DateTimeOffset At);

/// <summary>The state of one conversation, folded from its stream; the turns keep their sealed content.</summary>
public sealed record Conversation(
    Guid Id,
    string Subject,
    string Agent,
    string? Title,
    bool Extraction,
    ConversationStatus Status,
    DateTimeOffset StartedAt,
    DateTimeOffset LastTurnAt,
    IReadOnlyList<Turn> Turns,
    int Version)
{
    public static Conversation Create(ConversationStarted e) =>
        new(e.ConversationId, e.Subject, e.Agent, e.Title, e.Extraction, ConversationStatus.Open, e.StartedAt, e.StartedAt, [], 1);

    public Conversation Apply(TurnRecorded e) => this with
    {
        Turns = [.. Turns, new Turn(e.Turn, e.Role, e.Content, e.Citations, e.Reply, e.At)],
        LastTurnAt = e.At,
        Version = Version + 1,
    };

    public Conversation Apply(ConversationClosed e) => this with { Status = ConversationStatus.Closed, Version = Version + 1 };

    public int NextTurn => Turns.Count + 1;
}

public static class ConversationDecisions
{
    public static TurnRecorded RecordTurn(
        Conversation current, TurnRole role, EncryptedText content, IReadOnlyList<Citation> citations, ReplyInfo? reply,
        DateTimeOffset now)
    {
        if (current.Status != ConversationStatus.Open)
            throw new DomainRuleViolated("the conversation is closed; no turn can be added");
        if (reply is not null && role != TurnRole.Assistant)
            throw new DomainRuleViolated("only an assistant turn is a reply");
        if (reply is not null && (reply.ReplyTo < 1 || reply.ReplyTo >= current.NextTurn
                                   || current.Turns[reply.ReplyTo - 1].Role != TurnRole.User))
            throw new DomainRuleViolated("a reply answers an earlier user turn of its conversation");
        return new TurnRecorded(current.Id, current.NextTurn, role, content, citations, reply, now);
    }

    public static ConversationClosed Close(Conversation current, DateTimeOffset now) =>
        current.Status == ConversationStatus.Closed
            ? throw new DomainRuleViolated("the conversation is already closed")
            : new ConversationClosed(current.Id, now);
}

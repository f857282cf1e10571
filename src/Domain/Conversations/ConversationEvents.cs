using Aetherra.Domain.Memory;

namespace Aetherra.Domain.Conversations;

public enum TurnRole { User, Assistant, Tool }

public enum ConversationStatus { Open, Closed }

/// <summary>A memory a reply relied on, at the version recall returned (as decisions cite evidence).</summary>
public readonly record struct Citation(Guid MemoryId, int Version);

/// <summary>
/// How a reply was produced: the provider and model (provider "none" for the extractive answer), whether a model
/// generated it, its token counts, the user turn it answers, and the lengths of the frames it was streamed in, so
/// that a client reconnecting after the reply finished gets exactly the frames it missed, on any node.
/// </summary>
public sealed record ReplyInfo(
    string Provider, string? Model, bool Generated, int? TokensIn, int? TokensOut, int ReplyTo, IReadOnlyList<int> Frames);

public sealed record ConversationStarted(
    Guid ConversationId, string Subject, string Agent, string? Title, bool Extraction, DateTimeOffset StartedAt);

/// <summary>
/// One turn. Its content is sealed with the subject's data key, exactly like memory content: forgetting the
/// subject leaves the event (and the hash tree over it) intact and its content unreadable.
/// </summary>
public sealed record TurnRecorded(
    Guid ConversationId,
    int Turn,
    TurnRole Role,
    EncryptedText Content,
    IReadOnlyList<Citation> Citations,
    ReplyInfo? Reply,
    DateTimeOffset At);

public sealed record ConversationClosed(Guid ConversationId, DateTimeOffset ClosedAt);

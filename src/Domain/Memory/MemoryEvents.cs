namespace Aetherra.Domain.Memory;

public enum MemoryKind { Fact, Preference, Episode, Instruction, Observation }

public enum Classification { Public, Internal, Confidential }

public enum MemoryStatus { Active, Forgotten, Superseded, Expired }

/// <summary>
/// Content sealed with the data key of its subject (AEAD). The plaintext never enters an event:
/// once the key is destroyed this is noise, while the event and the hash tree over it stay intact.
/// </summary>
public sealed record EncryptedText(Guid KeyId, byte[] Nonce, byte[] Ciphertext);

public sealed record MemoryRecorded(
    Guid MemoryId,
    string Subject,
    string Agent,
    string? Session,
    MemoryKind Kind,
    IReadOnlyList<string> Tags,
    double Importance,
    Classification Classification,
    DateTimeOffset OccurredAt,
    DateTimeOffset RecordedAt,
    DateTimeOffset? ExpiresAt,
    string? Source,
    EncryptedText Content,
    string ContentHash,
    IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Metadata = null);

public sealed record MemoryRevised(
    Guid MemoryId, EncryptedText Content, string ContentHash, string Reason, DateTimeOffset RevisedAt);

public sealed record MemoryForgotten(Guid MemoryId, string? Reason, DateTimeOffset ForgottenAt);

/// <summary>
/// The memory was used (recalled into a decision's evidence, or reinforced by a client) and gains weight in
/// recall. Decay with age is computed when recalling, never by rewriting events.
/// </summary>
public sealed record MemoryReinforced(Guid MemoryId, double Weight, string? Reason, DateTimeOffset ReinforcedAt);

/// <summary>The memory was folded into another one by consolidation; it stays in history, out of recall.</summary>
public sealed record MemorySuperseded(Guid MemoryId, Guid SupersededBy, string Reason, DateTimeOffset SupersededAt);

/// <summary>The memory absorbed near-duplicates of it (each of them got MemorySuperseded).</summary>
public sealed record MemoriesConsolidated(
    Guid MemoryId, IReadOnlyList<Guid> Absorbed, IReadOnlyList<string> Tags, double Importance, DateTimeOffset ConsolidatedAt);

/// <summary>A subject's data key was destroyed; every memory of it was forgotten in the same transaction.</summary>
public sealed record SubjectForgotten(string Subject, int MemoriesForgotten, DateTimeOffset ForgottenAt);

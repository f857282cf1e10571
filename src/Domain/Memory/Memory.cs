namespace Aetherra.Domain.Memory;

/// <summary>The state of one memory, folded from its stream.</summary>
public sealed record Memory(
    Guid Id,
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
    EncryptedText? Content,
    string ContentHash,
    MemoryStatus Status,
    int Version)
{
    /// <summary>
    /// The content hash while the memory can still be deduplicated against, else null. A unique index
    /// on it (per tenant) makes two concurrent writes of the same content end with one memory.
    /// </summary>
    public string? DedupKey => Status == MemoryStatus.Active ? ContentHash : null;

    public static Memory Create(MemoryRecorded e) => new(
        e.MemoryId, e.Subject, e.Agent, e.Session, e.Kind, e.Tags, e.Importance, e.Classification,
        e.OccurredAt, e.RecordedAt, e.ExpiresAt, e.Source, e.Content, e.ContentHash, MemoryStatus.Active, 1);

    public Memory Apply(MemoryRevised e) =>
        this with { Content = e.Content, ContentHash = e.ContentHash, Version = Version + 1 };

    // Forgetting drops the sealed content from the read model too: only the event keeps it, as noise
    // once the subject's key is gone.
    public Memory Apply(MemoryForgotten e) =>
        this with { Status = MemoryStatus.Forgotten, Content = null, Version = Version + 1 };

    /// <summary>Expiry is computed at read time from the recorded expiresAt, never by rewriting events.</summary>
    public MemoryStatus StatusAt(DateTimeOffset now) =>
        Status == MemoryStatus.Active && ExpiresAt is { } expires && expires <= now ? MemoryStatus.Expired : Status;
}

public static class MemoryDecisions
{
    public static void EnsureActive(Memory current, DateTimeOffset now, string toBe)
    {
        var status = current.StatusAt(now);
        if (status != MemoryStatus.Active)
            throw new DomainRuleViolated($"only an active memory can be {toBe}; this one is {status.ToString().ToLowerInvariant()}");
    }

    public static MemoryRevised Revise(
        Memory current, EncryptedText content, string contentHash, string reason, DateTimeOffset now)
    {
        EnsureActive(current, now, "revised");
        if (contentHash == current.ContentHash)
            throw new DomainRuleViolated("the revision does not change the content");
        return new MemoryRevised(current.Id, content, contentHash, reason, now);
    }

    public static MemoryForgotten Forget(Memory current, string? reason, DateTimeOffset now) =>
        current.Status == MemoryStatus.Forgotten
            ? throw new DomainRuleViolated("the memory is already forgotten")
            : new MemoryForgotten(current.Id, reason, now);

    /// <summary>Normalisation that decides when two contents are "the same memory".</summary>
    public static string Normalise(string content) =>
        string.Join(' ', content.Normalize(System.Text.NormalizationForm.FormC)
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}

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
    int Version,
    IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Metadata = null)
{
    /// <summary>
    /// The content hash while the memory can still be deduplicated against, else null. A unique index
    /// on it (per tenant) makes two concurrent writes of the same content end with one memory.
    /// </summary>
    public string? DedupKey => Status == MemoryStatus.Active ? ContentHash : null;

    public static Memory Create(MemoryRecorded e) => new(
        e.MemoryId, e.Subject, e.Agent, e.Session, e.Kind, e.Tags, e.Importance, e.Classification,
        e.OccurredAt, e.RecordedAt, e.ExpiresAt, e.Source, e.Content, e.ContentHash, MemoryStatus.Active, 1, e.Metadata);

    public Memory Apply(MemoryRevised e) =>
        this with { Content = e.Content, ContentHash = e.ContentHash, Version = Version + 1 };

    // Forgetting drops the sealed content from the read model too: only the event keeps it, as noise
    // once the subject's key is gone.
    public Memory Apply(MemoryForgotten e) =>
        this with { Status = MemoryStatus.Forgotten, Content = null, Version = Version + 1 };

    public Memory Apply(MemoryReinforced e) => this with { Version = Version + 1 };

    // A superseded memory keeps its content (history) but no longer blocks the same content being written.
    public Memory Apply(MemorySuperseded e) => this with { Status = MemoryStatus.Superseded, Version = Version + 1 };

    public Memory Apply(MemoriesConsolidated e) =>
        this with { Tags = e.Tags, Importance = e.Importance, Version = Version + 1 };

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

    public const double MaxReinforcement = 10;

    public static MemoryReinforced Reinforce(Memory current, double weight, string? reason, DateTimeOffset now)
    {
        EnsureActive(current, now, "reinforced");
        if (weight is <= 0 or > MaxReinforcement)
            throw new DomainRuleViolated($"a reinforcement weighs more than 0 and at most {MaxReinforcement}");
        return new MemoryReinforced(current.Id, weight, reason, now);
    }

    /// <summary>
    /// Folds near-duplicates into the survivor: the survivor keeps its content and takes the union of tags and
    /// the highest importance; each absorbed memory is superseded by it. Nothing is deleted from history.
    /// </summary>
    public static (MemoriesConsolidated Survivor, IReadOnlyList<MemorySuperseded> Absorbed) Consolidate(
        Memory survivor, IReadOnlyList<Memory> duplicates, DateTimeOffset now)
    {
        EnsureActive(survivor, now, "consolidated");
        if (duplicates.Count == 0) throw new DomainRuleViolated("consolidation needs at least one duplicate");
        foreach (var d in duplicates)
        {
            EnsureActive(d, now, "consolidated");
            if (d.Id == survivor.Id || d.Subject != survivor.Subject || d.Agent != survivor.Agent)
                throw new DomainRuleViolated("only memories of the same subject and agent are consolidated");
        }
        var tags = survivor.Tags.Concat(duplicates.SelectMany(d => d.Tags)).Distinct(StringComparer.Ordinal).ToList();
        var importance = duplicates.Select(d => d.Importance).Append(survivor.Importance).Max();
        return (new MemoriesConsolidated(survivor.Id, duplicates.Select(d => d.Id).ToList(), tags, importance, now),
            duplicates.Select(d => new MemorySuperseded(d.Id, survivor.Id, "consolidated", now)).ToList());
    }

    /// <summary>Normalisation that decides when two contents are "the same memory".</summary>
    public static string Normalise(string content) =>
        string.Join(' ', content.Normalize(System.Text.NormalizationForm.FormC)
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}

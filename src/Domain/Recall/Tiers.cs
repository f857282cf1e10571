namespace Aetherra.Domain.Recall;

/// <summary>
/// One application of the archive policy (the compaction tiers): memories of a subject (or of every subject) that
/// occurred before <see cref="Cutoff"/>, were never recalled and never reinforced, moved to the archive tier. The
/// run's stream holds this event and one <see cref="MemoryArchived"/> per memory moved; nothing is deleted.
/// </summary>
public sealed record ArchivePolicyApplied(Guid RunId, string? Subject, int OlderThanDays, DateTimeOffset Cutoff, int Archived, DateTimeOffset At);

/// <summary>
/// A memory moved to the archive tier: excluded from default recall, included with <c>tiers: ["archive"]</c>. A
/// later reinforcement of the memory (memory.reinforced.v1) is the move back to the live tier.
/// </summary>
public sealed record MemoryArchived(Guid MemoryId, string Subject, Guid RunId, DateTimeOffset At);

/// <summary>The tiers recall searches: the live one always, the archive when asked.</summary>
public static class RecallTiers
{
    public const string Live = "live";
    public const string Archive = "archive";

    public static readonly string[] All = [Live, Archive];
}

using static Aetherra.Domain.Tests.Given;

namespace Aetherra.Domain.Tests;

public sealed class RecordingMemoryTests
{
    private static MemoryToRecord Asked(string content = "likes green tea", string? kind = "preference", IReadOnlyList<string>? tags = null,
        double? importance = null, string? classification = null, DateTimeOffset? occurredAt = null) =>
        new(content, "user:alice", "agent:concierge", null, kind!, tags, importance, classification, occurredAt, null, null);

    private static (IReadOnlyList<Recording> Results, IReadOnlyList<MemoryRecorded> Events) Decide(
        IReadOnlyList<MemoryToRecord> asked, IReadOnlyList<string> hashes, IReadOnlyDictionary<string, KnownMemory>? known = null) =>
        RecordingMemory.Decide(asked, hashes, known ?? new Dictionary<string, KnownMemory>(), Guid.NewGuid, (_, _) => Sealed(), T0);

    [Fact]
    public void a_new_memory_takes_the_defaults_and_occurs_now()
    {
        var (results, events) = Decide([Asked(kind: "FACT", tags: ["a", "b", "a"])], ["h1"]);

        var e = Assert.Single(events);
        Assert.Equal(MemoryKind.Fact, e.Kind);
        Assert.Equal(0.5, e.Importance);
        Assert.Equal(Classification.Internal, e.Classification);
        Assert.Equal(["a", "b"], e.Tags);
        Assert.Equal(T0, e.OccurredAt);
        Assert.Equal(T0, e.RecordedAt);
        Assert.Equal("h1", e.ContentHash);
        Assert.Equal(new Recording(e.MemoryId, 1, "h1", Deduplicated: false), Assert.Single(results));
    }

    [Fact]
    public void what_the_client_gave_wins_over_the_defaults()
    {
        var (_, events) = Decide([Asked(importance: 0.9, classification: "Confidential", occurredAt: T0.AddDays(-1))], ["h1"]);

        var e = Assert.Single(events);
        Assert.Equal(0.9, e.Importance);
        Assert.Equal(Classification.Confidential, e.Classification);
        Assert.Equal(T0.AddDays(-1), e.OccurredAt);
    }

    [Fact]
    public void content_an_active_memory_holds_is_answered_with_that_memory_and_records_nothing()
    {
        var held = new KnownMemory(Guid.NewGuid(), 3);
        var sealedAny = false;

        var (results, events) = RecordingMemory.Decide([Asked()], ["h1"], new Dictionary<string, KnownMemory> { ["h1"] = held },
            Guid.NewGuid, (_, _) => { sealedAny = true; return Sealed(); }, T0);

        Assert.Empty(events);
        Assert.False(sealedAny);
        Assert.Equal(new Recording(held.Id, 3, "h1", Deduplicated: true), Assert.Single(results));
    }

    [Fact]
    public void the_same_content_twice_in_a_batch_is_recorded_once()
    {
        var (results, events) = Decide([Asked(), Asked("other"), Asked()], ["h1", "h2", "h1"]);

        Assert.Equal(2, events.Count);
        Assert.Equal([false, false, true], results.Select(r => r.Deduplicated));
        Assert.Equal(results[0].Id, results[2].Id);
        Assert.Equal(events.Select(e => e.MemoryId), results.Take(2).Select(r => r.Id));
    }
}

using static Aetherra.Domain.Tests.Given;

namespace Aetherra.Domain.Tests;

public sealed class MemoryTests
{
    [Fact]
    public void a_recorded_memory_folds_to_version_1_active_with_its_fields()
    {
        var recorded = Recorded(expiresAt: T0.AddDays(30));

        var memory = Fold(recorded);

        Assert.Equal(1, memory.Version);
        Assert.Equal(MemoryStatus.Active, memory.Status);
        Assert.Equal(recorded.MemoryId, memory.Id);
        Assert.Equal(recorded.Subject, memory.Subject);
        Assert.Equal(recorded.Agent, memory.Agent);
        Assert.Equal(recorded.Session, memory.Session);
        Assert.Equal(recorded.Kind, memory.Kind);
        Assert.Equal(recorded.Tags, memory.Tags);
        Assert.Equal(recorded.Importance, memory.Importance);
        Assert.Equal(recorded.Classification, memory.Classification);
        Assert.Equal(recorded.OccurredAt, memory.OccurredAt);
        Assert.Equal(recorded.RecordedAt, memory.RecordedAt);
        Assert.Equal(recorded.ExpiresAt, memory.ExpiresAt);
        Assert.Equal(recorded.Source, memory.Source);
        Assert.Same(recorded.Content, memory.Content);
        Assert.Equal(recorded.ContentHash, memory.ContentHash);
    }

    [Fact]
    public void revising_an_active_memory_bumps_the_version_and_replaces_content_and_hash()
    {
        var recorded = Recorded();
        var memory = Fold(recorded);
        var content = Sealed();

        var revised = MemoryDecisions.Revise(memory, content, "hash-1", "typo", T0.AddHours(1));
        var after = memory.Apply(revised);

        Assert.Equal(new MemoryRevised(recorded.MemoryId, content, "hash-1", "typo", T0.AddHours(1)), revised);
        Assert.Equal(2, after.Version);
        Assert.Same(content, after.Content);
        Assert.Equal("hash-1", after.ContentHash);
        Assert.Equal(MemoryStatus.Active, after.Status);
    }

    [Fact]
    public void revising_a_forgotten_memory_is_refused()
    {
        var recorded = Recorded();
        var memory = Fold(recorded, Forgotten(recorded.MemoryId, T0.AddHours(1)));

        var refused = Assert.Throws<DomainRuleViolated>(() =>
            MemoryDecisions.Revise(memory, Sealed(), "hash-1", "typo", T0.AddHours(2)));
        Assert.Contains("forgotten", refused.Message);
    }

    [Fact]
    public void revising_an_expired_memory_is_refused()
    {
        var memory = Fold(Recorded(expiresAt: T0.AddDays(1)));

        var refused = Assert.Throws<DomainRuleViolated>(() =>
            MemoryDecisions.Revise(memory, Sealed(), "hash-1", "typo", T0.AddDays(2)));
        Assert.Contains("expired", refused.Message);
    }

    [Fact]
    public void revising_with_the_same_content_hash_is_refused()
    {
        var memory = Fold(Recorded(hash: "hash-0"));

        var refused = Assert.Throws<DomainRuleViolated>(() =>
            MemoryDecisions.Revise(memory, Sealed(), "hash-0", "no change", T0.AddHours(1)));
        Assert.Contains("does not change", refused.Message);
    }

    [Fact]
    public void revising_back_to_an_earlier_content_is_allowed()
    {
        var recorded = Recorded(hash: "hash-0");
        var memory = Fold(recorded, Revised(recorded.MemoryId, "hash-1", T0.AddHours(1)));

        var revised = MemoryDecisions.Revise(memory, Sealed(), "hash-0", "undo", T0.AddHours(2));

        Assert.Equal("hash-0", memory.Apply(revised).ContentHash);
    }

    [Fact]
    public void forgetting_an_active_memory_yields_forgotten_and_drops_the_content_from_state()
    {
        var recorded = Recorded();
        var memory = Fold(recorded);

        var forgotten = MemoryDecisions.Forget(memory, "asked to", T0.AddHours(1));
        var after = memory.Apply(forgotten);

        Assert.Equal(new MemoryForgotten(recorded.MemoryId, "asked to", T0.AddHours(1)), forgotten);
        Assert.Equal(MemoryStatus.Forgotten, after.Status);
        Assert.Null(after.Content);
        Assert.Equal(2, after.Version);
    }

    [Fact]
    public void forgetting_a_memory_twice_is_refused()
    {
        var recorded = Recorded();
        var memory = Fold(recorded, Forgotten(recorded.MemoryId, T0.AddHours(1)));

        var refused = Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Forget(memory, null, T0.AddHours(2)));
        Assert.Contains("already forgotten", refused.Message);
    }

    [Fact]
    public void an_expired_memory_can_still_be_forgotten()
    {
        var memory = Fold(Recorded(expiresAt: T0.AddDays(1)));

        var forgotten = MemoryDecisions.Forget(memory, null, T0.AddDays(2));

        Assert.Equal(MemoryStatus.Forgotten, memory.Apply(forgotten).Status);
    }

    [Fact]
    public void a_memory_is_active_until_just_before_its_expiry_and_expired_exactly_at_it()
    {
        var expiresAt = T0.AddDays(1);
        var memory = Fold(Recorded(expiresAt: expiresAt));

        Assert.Equal(MemoryStatus.Active, memory.StatusAt(expiresAt.AddTicks(-1)));
        Assert.Equal(MemoryStatus.Expired, memory.StatusAt(expiresAt));
        Assert.Equal(MemoryStatus.Expired, memory.StatusAt(expiresAt.AddYears(1)));
    }

    [Fact]
    public void expiry_compares_instants_not_clock_readings_in_an_offset()
    {
        var memory = Fold(Recorded(expiresAt: new DateTimeOffset(2025, 3, 2, 12, 0, 0, TimeSpan.FromHours(2))));

        Assert.Equal(MemoryStatus.Active, memory.StatusAt(new DateTimeOffset(2025, 3, 2, 9, 59, 59, TimeSpan.Zero)));
        Assert.Equal(MemoryStatus.Expired, memory.StatusAt(new DateTimeOffset(2025, 3, 2, 10, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void a_memory_without_expiry_never_expires()
    {
        var memory = Fold(Recorded(expiresAt: null));

        Assert.Equal(MemoryStatus.Active, memory.StatusAt(DateTimeOffset.MaxValue));
    }

    [Fact]
    public void a_forgotten_memory_reads_forgotten_even_after_its_expiry()
    {
        var recorded = Recorded(expiresAt: T0.AddDays(1));
        var memory = Fold(recorded, Forgotten(recorded.MemoryId, T0.AddHours(1)));

        Assert.Equal(MemoryStatus.Forgotten, memory.StatusAt(T0.AddDays(2)));
    }

    [Fact]
    public void ensure_active_refuses_with_the_action_and_the_status_in_the_message()
    {
        var memory = Fold(Recorded(expiresAt: T0.AddDays(1)));

        MemoryDecisions.EnsureActive(memory, T0, "tagged");
        var refused = Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.EnsureActive(memory, T0.AddDays(1), "tagged"));
        Assert.Equal("only an active memory can be tagged; this one is expired", refused.Message);
    }

    [Fact]
    public void the_dedup_key_is_the_content_hash_while_active()
    {
        var recorded = Recorded(hash: "hash-0");
        var memory = Fold(recorded);

        Assert.Equal("hash-0", memory.DedupKey);
        Assert.Equal("hash-1", memory.Apply(Revised(recorded.MemoryId, "hash-1", T0.AddHours(1))).DedupKey);
    }

    [Fact]
    public void the_dedup_key_is_null_once_forgotten()
    {
        var recorded = Recorded();

        var memory = Fold(recorded, Forgotten(recorded.MemoryId, T0.AddHours(1)));

        Assert.Null(memory.DedupKey);
    }

    [Theory]
    [InlineData(MemoryStatus.Superseded)]
    [InlineData(MemoryStatus.Expired)]
    public void the_dedup_key_is_null_for_every_status_but_active(MemoryStatus status)
    {
        var memory = Fold(Recorded()) with { Status = status };

        Assert.Null(memory.DedupKey);
    }

    [Theory]
    [InlineData("  Alice   prefers\tgreen\r\n tea  ", "Alice prefers green tea")]
    [InlineData("\u00A0no\u2003break\u3000spaces\u00A0", "no break spaces")]
    [InlineData("single", "single")]
    [InlineData("   ", "")]
    [InlineData("", "")]
    public void normalise_collapses_whitespace_runs_to_one_space_and_trims(string content, string expected)
    {
        Assert.Equal(expected, MemoryDecisions.Normalise(content));
    }

    [Theory]
    [InlineData("caf\u0065\u0301", "caf\u00e9")]
    [InlineData("\u212B", "\u00C5")]
    [InlineData("\u1100\u1161", "\uAC00")]
    public void normalise_composes_to_nfc_so_canonically_equal_texts_are_the_same(string content, string expected)
    {
        Assert.Equal(expected, MemoryDecisions.Normalise(content));
    }

    [Fact]
    public void normalise_keeps_case_and_compatibility_characters()
    {
        Assert.Equal("Tea \uFB01ne", MemoryDecisions.Normalise("Tea \uFB01ne"));
    }
}

public sealed class ConsolidationTests
{
    private static MemoryState Active(string subject = "user:alice", string agent = "agent:concierge", string[]? tags = null, double importance = 0.5) =>
        MemoryState.Create(Given.Recorded() with { Subject = subject, Agent = agent, Tags = tags ?? ["drink"], Importance = importance });

    [Fact]
    public void consolidation_supersedes_the_duplicates_and_gives_the_survivor_their_tags_and_highest_importance()
    {
        var survivor = Active(tags: ["drink"]);
        var a = Active(tags: ["morning"], importance: 0.9);
        var b = Active(tags: ["drink", "tea"]);

        var (kept, absorbed) = MemoryDecisions.Consolidate(survivor, [a, b], Given.T0);

        Assert.Equal([a.Id, b.Id], kept.Absorbed);
        Assert.Equal(["drink", "morning", "tea"], kept.Tags);
        Assert.Equal(0.9, kept.Importance);
        Assert.All(absorbed, s => Assert.Equal(survivor.Id, s.SupersededBy));
        var superseded = a.Apply(absorbed[0]);
        Assert.Equal(MemoryStatus.Superseded, superseded.Status);
        Assert.Null(superseded.DedupKey);
    }

    [Fact]
    public void consolidation_across_subjects_or_agents_is_refused()
    {
        Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Consolidate(Active(), [Active(subject: "user:bob")], Given.T0));
        Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Consolidate(Active(), [Active(agent: "agent:other")], Given.T0));
    }

    [Fact]
    public void a_forgotten_memory_is_neither_consolidated_nor_reinforced()
    {
        var forgotten = Active().Apply(new MemoryForgotten(Guid.NewGuid(), null, Given.T0));
        Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Consolidate(Active(), [forgotten], Given.T0));
        Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Reinforce(forgotten, 1, null, Given.T0));
    }

    [Fact]
    public void a_reinforcement_weighs_more_than_nothing_and_at_most_the_maximum()
    {
        Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Reinforce(Active(), 0, null, Given.T0));
        Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Reinforce(Active(), MemoryDecisions.MaxReinforcement + 1, null, Given.T0));
        var reinforced = MemoryDecisions.Reinforce(Active(), 2, "useful", Given.T0);
        Assert.Equal(2, reinforced.Weight);
    }
}

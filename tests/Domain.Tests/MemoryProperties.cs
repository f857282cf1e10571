using CsCheck;

namespace Aetherra.Domain.Tests;

public sealed class MemoryProperties
{
    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly Gen<DateTimeOffset> Instant =
        Gen.Int[0, 10_000_000].Select(seconds => Epoch.AddSeconds(seconds));

    private static readonly Gen<EncryptedText> Sealed =
        Gen.Select(Gen.Guid, Gen.Byte.Array[24], Gen.Byte.Array[0, 64], (key, nonce, cipher) => new EncryptedText(key, nonce, cipher));

    // A small alphabet of hashes, so generated revisions sometimes repeat the current hash and get refused.
    private static readonly Gen<string> Hash = Gen.Int[0, 3].Select(i => $"hash-{i}");

    private static readonly Gen<string> Name = Gen.String["abcdefgh:-_0123456789"].Where(s => s.Length > 0);

    private static readonly Gen<MemoryRecorded> Recorded =
        Gen.Select(Gen.Guid, Name, Name, Gen.Enum<MemoryKind>(), Gen.Enum<Classification>(), Instant,
                Gen.Int[0, 3_000_000].Nullable(), Gen.Select(Sealed, Hash))
            .Select((id, subject, agent, kind, classification, recordedAt, expiresInSeconds, content) => new MemoryRecorded(
                id, subject, agent, null, kind, ["tag"], 0.5, classification, recordedAt, recordedAt,
                expiresInSeconds is { } s ? recordedAt.AddSeconds(s) : null, null, content.Item1, content.Item2));

    private abstract record Step(int AfterSeconds);
    private sealed record Revise(int AfterSeconds, EncryptedText Content, string Hash) : Step(AfterSeconds);
    private sealed record Forget(int AfterSeconds) : Step(AfterSeconds);

    private static readonly Gen<Step> AStep = Gen.Frequency(
        (4, Gen.Select(Gen.Int[1, 100_000], Sealed, Hash, (after, content, hash) => (Step)new Revise(after, content, hash))),
        (1, Gen.Int[1, 100_000].Select(after => (Step)new Forget(after))));

    /// <summary>A recorded memory, then a run of commands decided one by one; refused commands append nothing.</summary>
    private static readonly Gen<(MemoryRecorded Recorded, List<object> Events, int Refused)> History =
        Gen.Select(Recorded, AStep.Array[0, 12]).Select((recorded, steps) =>
        {
            var events = new List<object> { recorded };
            var state = MemoryState.Create(recorded);
            var now = recorded.RecordedAt;
            var refused = 0;
            foreach (var step in steps)
            {
                now = now.AddSeconds(step.AfterSeconds);
                try
                {
                    object e = step switch
                    {
                        Revise r => MemoryDecisions.Revise(state, r.Content, r.Hash, "because", now),
                        Forget => MemoryDecisions.Forget(state, null, now),
                        _ => throw new InvalidOperationException(),
                    };
                    state = e switch
                    {
                        MemoryRevised r => state.Apply(r),
                        MemoryForgotten f => state.Apply(f),
                        _ => throw new InvalidOperationException(),
                    };
                    events.Add(e);
                }
                catch (DomainRuleViolated)
                {
                    refused++;
                }
            }
            return (recorded, events, refused);
        });

    /// <summary>Every field, with byte arrays and lists by value, so two folds compare structurally, not by reference.</summary>
    private static string Describe(MemoryState m) => string.Join('|',
        m.Id, m.Subject, m.Agent, m.Session, m.Kind, string.Join(',', m.Tags), m.Importance, m.Classification,
        m.OccurredAt.UtcTicks, m.RecordedAt.UtcTicks, m.ExpiresAt?.UtcTicks, m.Source,
        m.Content is { } c ? $"{c.KeyId}:{Convert.ToHexString(c.Nonce)}:{Convert.ToHexString(c.Ciphertext)}" : "none",
        m.ContentHash, m.Status, m.Version, m.DedupKey);

    /// <summary>What a reload from the store gives: equal events, none of the original instances.</summary>
    private static object Copy(object e) => e switch
    {
        MemoryRecorded r => r with { Tags = r.Tags.ToList(), Content = Copy(r.Content) },
        MemoryRevised r => r with { Content = Copy(r.Content) },
        MemoryForgotten f => f with { },
        _ => throw new InvalidOperationException(),
    };

    private static EncryptedText Copy(EncryptedText t) => new(t.KeyId, t.Nonce.ToArray(), t.Ciphertext.ToArray());

    [Fact]
    public void replaying_the_same_events_always_folds_to_the_same_state()
    {
        History.Sample(h =>
        {
            var first = Given.Fold(h.Events);
            var replayed = Given.Fold(h.Events.Select(Copy));

            Assert.Equal(Describe(first), Describe(replayed));
        });
    }

    [Fact]
    public void the_version_equals_the_number_of_events_folded()
    {
        History.Sample(h =>
        {
            for (var n = 1; n <= h.Events.Count; n++)
                Assert.Equal(n, Given.Fold(h.Events.Take(n)).Version);
        });
    }

    [Fact]
    public void revise_never_changes_subject_agent_id_kind_or_recorded_at()
    {
        var accepted = 0;
        Gen.Select(Recorded, Sealed, Hash, Gen.Int[0, 1_000_000]).Sample((recorded, content, hash, afterSeconds) =>
        {
            var before = MemoryState.Create(recorded);
            var now = recorded.RecordedAt.AddSeconds(afterSeconds);
            MemoryRevised revised;
            try
            {
                revised = MemoryDecisions.Revise(before, content, hash, "because", now);
            }
            catch (DomainRuleViolated)
            {
                Assert.True(hash == before.ContentHash || before.StatusAt(now) != MemoryStatus.Active);
                return;
            }

            var revisedState = before.Apply(revised);
            Interlocked.Increment(ref accepted);

            Assert.Equal(before.Id, revised.MemoryId);
            Assert.Equal((before.Id, before.Subject, before.Agent, before.Kind, before.RecordedAt),
                (revisedState.Id, revisedState.Subject, revisedState.Agent, revisedState.Kind, revisedState.RecordedAt));
            Assert.Equal(hash, revisedState.ContentHash);
            Assert.Same(content, revisedState.Content);
        });

        Assert.True(accepted > 0, "no generated revision was accepted, so the property was never checked");
    }

    [Fact]
    public void once_forgotten_every_later_command_is_refused()
    {
        var checkedForgotten = 0;
        Gen.Select(History, Sealed, Gen.Int[0, 1_000_000]).Sample((h, content, after) =>
        {
            var state = Given.Fold(h.Events);
            if (state.Status != MemoryStatus.Forgotten)
                return;
            var now = ((MemoryForgotten)h.Events[^1]).ForgottenAt.AddSeconds(after);
            Interlocked.Increment(ref checkedForgotten);

            Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Revise(state, content, "hash-new", "because", now));
            Assert.Throws<DomainRuleViolated>(() => MemoryDecisions.Forget(state, null, now));
        });

        Assert.True(checkedForgotten > 0, "no generated history ended forgotten, so the property was never checked");
    }

    // Fragments that exercise what Normalise must handle: whitespace of several kinds, decomposed and
    // precomposed letters, a lone combining mark, a compatibility ligature and a non-BMP character.
    private static readonly Gen<string> Text = Gen.OneOf(
            Gen.OneOf("a", "Z", " ", "  ", "\t", "\n", "\r\n", "\u00A0", "\u2003", "\u3000", "e\u0301", "\u00e9",
                "A\u030A", "\u212B", "\u1100\u1161", "\u0301", "\uFB01", "\U0001F600"),
            Gen.Char.Where(c => !char.IsSurrogate(c)).Select(c => c.ToString()))
        .Array[0, 24]
        .Select(string.Concat);

    [Fact]
    public void normalise_is_idempotent()
    {
        Text.Sample(x =>
        {
            var once = MemoryDecisions.Normalise(x);

            Assert.Equal(once, MemoryDecisions.Normalise(once));
        });
    }

    [Fact]
    public void normalised_text_has_no_edge_or_repeated_whitespace_and_is_nfc()
    {
        Text.Sample(x =>
        {
            var n = MemoryDecisions.Normalise(x);

            Assert.True(n.IsNormalized(System.Text.NormalizationForm.FormC));
            Assert.DoesNotContain("  ", n);
            Assert.True(n.Length == 0 || (!char.IsWhiteSpace(n[0]) && !char.IsWhiteSpace(n[^1])));
            Assert.All(n, c => Assert.True(c == ' ' || !char.IsWhiteSpace(c)));
        });
    }
}

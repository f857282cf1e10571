using Aetherra.Domain.Recall;
using CsCheck;

namespace Aetherra.Domain.Tests;

public sealed class RecallRankingTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly Gen<Relevance> ARelevance =
        Gen.Select(Gen.Double[0, 20], Gen.Double[-0.2, 1].Nullable(), (text, semantic) => new Relevance(text, semantic));

    [Fact]
    public void fused_relevance_stays_between_0_and_1()
    {
        ARelevance.List[1, 50].Sample(candidates =>
            RecallRanking.Fuse(candidates).All(f => f is >= 0 and <= 1 + 1e-9));
    }

    [Fact]
    public void more_text_relevance_never_ranks_lower_at_equal_cosine()
    {
        Gen.Select(ARelevance.List[1, 30], Gen.Double[0, 20], Gen.Double[0, 20], Gen.Double[0, 1])
            .Sample((others, a, b, cosine) =>
            {
                var (low, high) = (Math.Min(a, b), Math.Max(a, b));
                var fused = RecallRanking.Fuse([.. others, new Relevance(low, cosine), new Relevance(high, cosine)]);
                return fused[^1] >= fused[^2];
            });
    }

    [Fact]
    public void the_only_memory_holding_the_query_word_beats_closer_semantic_neighbours()
    {
        // Twenty memories about the same topic with a high cosine and no text match; one memory that holds the
        // rare word the query names, with a modest cosine.
        List<Relevance> candidates = [.. Enumerable.Repeat(new Relevance(0, 0.62), 20), new Relevance(7.5, 0.35)];
        var fused = RecallRanking.Fuse(candidates);
        Assert.True(fused[^1] > fused.Take(20).Max());
    }

    [Fact]
    public void without_embeddings_the_text_score_alone_orders_candidates()
    {
        var fused = RecallRanking.Fuse([new Relevance(2, null), new Relevance(4, null), new Relevance(0, null)]);
        Assert.Equal([0.5, 1, 0], fused);
    }

    [Fact]
    public void recency_halves_every_half_life_and_is_1_for_the_future()
    {
        Assert.Equal(1, RecallRanking.Recency(Now.AddDays(3), Now));
        Assert.Equal(0.5, RecallRanking.Recency(Now - RecallRanking.RecencyHalfLife, Now), 9);
        Assert.Equal(0.25, RecallRanking.Recency(Now - 2 * RecallRanking.RecencyHalfLife, Now), 9);
    }

    [Fact]
    public void reinforcement_counts_only_what_happened_by_then_and_decays()
    {
        (DateTimeOffset, double)[] reinforcements = [(Now.AddDays(-30), 1), (Now.AddDays(1), 5)];
        var asOfNow = RecallRanking.Reinforcement(reinforcements, Now);
        Assert.Equal(1 - Math.Exp(-0.5), asOfNow, 9);
        Assert.Equal(0, RecallRanking.Reinforcement(reinforcements, Now.AddDays(-31)));
        Assert.True(RecallRanking.Reinforcement(reinforcements, Now.AddDays(2)) > asOfNow);
    }

    [Fact]
    public void shaping_never_lifts_a_weaker_relevance_above_a_clearly_stronger_one()
    {
        // The shaping factors add at most 15%: a relevance 20% higher always wins, however old or unimportant.
        Gen.Select(Gen.Double[0.05, 0.8], Gen.Double[0, 1], Gen.Double[0, 1], Gen.Double[0, 1]).Sample((weak, recency, importance, reinforcement) =>
        {
            var strong = weak * 1.2;
            var lifted = RecallRanking.Score(weak, default, recency, importance, reinforcement).Score;
            var plain = RecallRanking.Score(strong, default, 0, 0.5, 0).Score;
            return plain > lifted;
        });
    }
}

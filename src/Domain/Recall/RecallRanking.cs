namespace Aetherra.Domain.Recall;

/// <summary>One candidate's raw relevance: a full-text score (0 when the text did not match) and a cosine.</summary>
public readonly record struct Relevance(double Text, double? Semantic);

/// <summary>The parts of a recalled memory's score, as `explain` shows them.</summary>
public readonly record struct ScoreParts(double Text, double Semantic, double Recency, double Importance, double Reinforcement, double Score);

/// <summary>
/// How recall orders what it found: fuse full-text and semantic relevance into one relevance in 0..1, then
/// shape it mildly by recency, importance and reinforcement. Pure: the same inputs give the same order.
/// The constants were chosen by measurement (docs/recall.md); the shaping only breaks near-ties, it never
/// lets an old or unimportant exact match fall below a vague semantic neighbour.
/// </summary>
public static class RecallRanking
{
    /// <summary>
    /// Weight of the full-text side in the fused relevance; the cosine has the rest. Measured on LoCoMo
    /// conversations: recall@10 stays within 0.03 of its best for weights 0.2 to 0.55 (docs/recall.md).
    /// </summary>
    public const double TextWeight = 0.3;

    /// <summary>Age at which recency has halved.</summary>
    public static readonly TimeSpan RecencyHalfLife = TimeSpan.FromDays(180);

    /// <summary>Age at which a reinforcement's weight has halved.</summary>
    public static readonly TimeSpan ReinforcementHalfLife = TimeSpan.FromDays(30);

    public const double RecencyWeight = 0.05;
    public const double ImportanceWeight = 0.05;
    public const double ReinforcementWeight = 0.05;

    /// <summary>
    /// Fuses each candidate's relevance: the BM25 score divided by the best BM25 score among the candidates
    /// (BM25 has no fixed scale), plus the raw cosine (already on a fixed scale). Rescaling the cosines per
    /// query (min-max) lets a vague semantic neighbour outrank the one memory holding a rare word the query
    /// names; the raw cosine does not (measured: docs/recall.md). A candidate without an embedding counts
    /// cosine 0; without any embeddings (turned off) the text score alone decides.
    /// </summary>
    public static double[] Fuse(IReadOnlyList<Relevance> candidates)
    {
        var maxText = candidates.Count == 0 ? 0 : candidates.Max(c => c.Text);
        var anySemantic = candidates.Any(c => c.Semantic is not null);
        var fused = new double[candidates.Count];
        for (var i = 0; i < candidates.Count; i++)
        {
            var text = maxText > 0 ? candidates[i].Text / maxText : 0;
            fused[i] = anySemantic ? TextWeight * text + (1 - TextWeight) * Math.Max(0, candidates[i].Semantic ?? 0) : text;
        }
        return fused;
    }

    /// <summary>1 for a memory that happened now, halving every <see cref="RecencyHalfLife"/>.</summary>
    public static double Recency(DateTimeOffset occurredAt, DateTimeOffset now) =>
        Math.Pow(0.5, Math.Max(0, (now - occurredAt).TotalDays) / RecencyHalfLife.TotalDays);

    /// <summary>Sum of the reinforcements made up to <paramref name="now"/>, each decayed by its age, squashed to 0..1.</summary>
    public static double Reinforcement(IEnumerable<(DateTimeOffset At, double Weight)> reinforcements, DateTimeOffset now)
    {
        var total = reinforcements.Where(r => r.At <= now)
            .Sum(r => r.Weight * Math.Pow(0.5, Math.Max(0, (now - r.At).TotalDays) / ReinforcementHalfLife.TotalDays));
        return 1 - Math.Exp(-total);
    }

    /// <summary>The final score: the fused relevance, raised a little by recency, importance and reinforcement.</summary>
    public static ScoreParts Score(double fused, Relevance relevance, double recency, double importance, double reinforcement) =>
        new(relevance.Text, relevance.Semantic ?? 0, recency, importance, reinforcement,
            fused * (1 + RecencyWeight * recency + ImportanceWeight * (importance - 0.5) * 2 + ReinforcementWeight * reinforcement));
}

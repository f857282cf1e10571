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
    /// conversations: recall@10 stays within 0.03 of its best for weights 0.2 to 0.55; 0.4 with the
    /// neighbour hop (docs/recall.md).
    /// </summary>
    public const double TextWeight = 0.4;

    /// <summary>
    /// Conversational neighbours (one hop): a memory recorded at most <see cref="NeighbourSpan"/> places before or
    /// after one of the <see cref="NeighbourTop"/> best matches, in the same subject, agent and session and within
    /// <see cref="NeighbourWindow"/> of it, gains <see cref="NeighbourWeight"/> × that match's fused relevance. The
    /// answer to a question often sits in the turn next to the one that shares its words (measured on LoCoMo,
    /// tuned on one conversation and read on the other: docs/recall.md).
    /// </summary>
    public const double NeighbourWeight = 0.3;

    public const int NeighbourSpan = 2;

    public const int NeighbourTop = 10;

    public static readonly TimeSpan NeighbourWindow = TimeSpan.FromHours(6);

    /// <summary>A candidate's fused relevance with the hop from its best neighbour among the top matches (0 when none).</summary>
    public static double WithNeighbour(double fused, double bestNeighbour, double weight = NeighbourWeight) =>
        Math.Max(0, fused) + weight * Math.Max(0, bestNeighbour);

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
    public static double[] Fuse(IReadOnlyList<Relevance> candidates) => Fuse(candidates, TextWeight);

    /// <summary><see cref="Fuse(IReadOnlyList{Relevance})"/> with another text weight (a configured or shadow ranking).</summary>
    public static double[] Fuse(IReadOnlyList<Relevance> candidates, double textWeight)
    {
        var maxText = candidates.Count == 0 ? 0 : candidates.Max(c => c.Text);
        var anySemantic = candidates.Any(c => c.Semantic is not null);
        var fused = new double[candidates.Count];
        for (var i = 0; i < candidates.Count; i++)
        {
            var text = maxText > 0 ? candidates[i].Text / maxText : 0;
            fused[i] = anySemantic ? textWeight * text + (1 - textWeight) * Math.Max(0, candidates[i].Semantic ?? 0) : text;
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

/// <summary>
/// The tunable part of a ranking: the text side's weight in the fusion and the neighbour hop's weight. The live
/// ranking and a shadow candidate are each one of these (configuration: AETHERRA_RECALL_RANKING,
/// AETHERRA_RECALL_SHADOW), written as <c>textWeight=0.4;neighbourWeight=0.3</c>.
/// </summary>
public sealed record RankingOptions(double TextWeight, double NeighbourWeight)
{
    public static RankingOptions Default { get; } = new(RecallRanking.TextWeight, RecallRanking.NeighbourWeight);

    /// <summary>Parses <c>textWeight=..;neighbourWeight=..</c> (either may be left out: the default's); null and a reason when invalid.</summary>
    public static (RankingOptions? Options, string? Error) Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return (Default, null);
        var (textWeight, neighbourWeight) = (Default.TextWeight, Default.NeighbourWeight);
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !double.TryParse(pair[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
                || !double.IsFinite(value) || value < 0 || value > 1)
                return (null, $"'{part}' is not name=value with a value from 0 to 1");
            switch (pair[0].ToLowerInvariant())
            {
                case "textweight": textWeight = value; break;
                case "neighbourweight" or "neighborweight": neighbourWeight = value; break;
                default: return (null, $"unknown ranking option '{pair[0]}' (textWeight, neighbourWeight)");
            }
        }
        return (new RankingOptions(textWeight, neighbourWeight), null);
    }

    public override string ToString() =>
        FormattableString.Invariant($"textWeight={TextWeight};neighbourWeight={NeighbourWeight}");
}

/// <summary>How a shadow ranking compares with the live one (pure; GET /recall/shadow).</summary>
public static class ShadowMetrics
{
    /// <summary>The share of the live top k that the candidate's top k holds too.</summary>
    public static double OverlapAt(int k, IReadOnlyList<Guid> live, IReadOnlyList<Guid> candidate)
    {
        var a = live.Take(k).ToHashSet();
        var b = candidate.Take(k).ToHashSet();
        var size = Math.Max(a.Count, b.Count);
        return size == 0 ? 1 : (double)a.Count(b.Contains) / size;
    }

    /// <summary>
    /// Spearman's rank correlation of the two top-k lists over their union, an item missing from a list ranked
    /// just after its end (k + 1): 1 for the same order, lower as the orders and contents differ.
    /// </summary>
    public static double RankCorrelation(int k, IReadOnlyList<Guid> live, IReadOnlyList<Guid> candidate)
    {
        var a = live.Take(k).ToList();
        var b = candidate.Take(k).ToList();
        var union = a.Union(b).ToList();
        if (union.Count < 2) return 1;
        double RankIn(List<Guid> list, Guid id) => list.IndexOf(id) is var i and >= 0 ? i + 1 : k + 1;
        var x = union.Select(id => RankIn(a, id)).ToArray();
        var y = union.Select(id => RankIn(b, id)).ToArray();
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? 1 : sxy / Math.Sqrt(sxx * syy);
    }
}

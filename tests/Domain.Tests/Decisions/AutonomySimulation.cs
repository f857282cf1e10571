using Aetherra.Domain.Decisions;

namespace Aetherra.Domain.Tests.Decisions;

public sealed record RoundResult(int Round, int Proposed, int Escalated, int AutoApproved, int AutoApprovedFailures, double ThresholdAtEnd)
{
    public double EscalationRate => (double)Escalated / Proposed;
    public double AutoFailureRate => AutoApproved == 0 ? 0 : (double)AutoApprovedFailures / AutoApproved;
}

/// <summary>
/// The learning loop without a server: an agent states a confidence, the governor judges it under the threshold in
/// force, escalated decisions are approved by a reviewer (so they still get outcomes), outcomes are drawn from the
/// agent's true success probability, and each outcome runs the threshold rule over the latest resolved decisions,
/// as RecordOutcome does. Each round proposes all its decisions first, then records their outcomes (as ops/bench
/// decisions does over HTTP).
/// </summary>
public static class AutonomySimulation
{
    /// <summary>The overconfident agent of docs/decisions.md: states c = 1 - u²/2 (u uniform), succeeds with c².</summary>
    public static double OverconfidentStated(Random rng) => 1 - 0.5 * Math.Pow(rng.NextDouble(), 2);

    public static double Overconfident(double stated) => stated * stated;

    /// <summary>
    /// The overconfident agent's true failure rate among decisions stated at or above t: with m² = 2(1 - t),
    /// 1 - E[c² | c >= t] = m²/3 - m⁴/20 (0.125 at t = 0.8; 0.1 at t ≈ 0.845).
    /// </summary>
    public static double ExpectedOverconfidentFailure(double t)
    {
        var m2 = 2 * (1 - t);
        return m2 / 3 - m2 * m2 / 20;
    }

    public static IReadOnlyList<RoundResult> Run(
        int seed, Func<Random, double> stated, Func<double, double> trueSuccess, ThresholdOptions options, int rounds = 20,
        int perRound = 50)
    {
        var rng = new Random(seed);
        var threshold = options.Initial;
        var resolved = new List<Resolved>();
        var results = new List<RoundResult>();
        for (var round = 1; round <= rounds; round++)
        {
            var proposals = Enumerable.Range(0, perRound).Select(_ =>
            {
                var c = Math.Round(stated(rng), 4);
                return (Confidence: c, Auto: Governor.Judge(c, Risk.Low, threshold, false).AutoApprove);
            }).ToList();
            int failures = 0;
            foreach (var (c, auto) in proposals)
            {
                var success = rng.NextDouble() < trueSuccess(c);
                if (auto && !success) failures++;
                resolved.Insert(0, new Resolved(c, success));
                if (resolved.Count > options.Window) resolved.RemoveAt(resolved.Count - 1);
                if (ThresholdRule.Evaluate(threshold, resolved, options) is { } move) threshold = move.To;
            }
            var autoCount = proposals.Count(p => p.Auto);
            results.Add(new RoundResult(round, perRound, perRound - autoCount, autoCount, failures, threshold));
        }
        return results;
    }

    /// <summary>Failure rate of the auto-approved decisions of rounds from..to together.</summary>
    public static double PooledFailureRate(IReadOnlyList<RoundResult> rows, int from, int to)
    {
        var part = rows.Where(r => r.Round >= from && r.Round <= to).ToList();
        var auto = part.Sum(r => r.AutoApproved);
        return auto == 0 ? 0 : (double)part.Sum(r => r.AutoApprovedFailures) / auto;
    }
}

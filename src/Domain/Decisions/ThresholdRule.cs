using System.Globalization;

namespace Aetherra.Domain.Decisions;

/// <summary>
/// How thresholds learn. Target: the success rate auto-approved decisions must reach. MinSample: resolved decisions
/// needed before the threshold moves at all, and above a candidate threshold before it counts. MaxStep: the largest
/// move per evaluation. Initial: the threshold before any move. Window: how many of the latest resolved decisions
/// the rule looks at. Z: how sure the rule must be (the success rate's Wilson lower bound at this z must reach the
/// target; 0 compares the observed rate itself).
/// </summary>
public readonly record struct ThresholdOptions(double Target, int MinSample, double MaxStep, double Initial, int Window, double Z)
{
    public static readonly ThresholdOptions Default = new(0.9, 20, 0.1, 0.8, 500, 2.0);

    public bool IsValid =>
        Target is > 0 and <= 1 && MinSample >= 1 && MaxStep is > 0 and <= 1 && Initial is >= 0 and <= 1
        && Window >= MinSample && Z is >= 0 and <= 5;
}

/// <summary>A resolved decision as the rule sees it: what the agent said, and what happened.</summary>
public readonly record struct Resolved(double Confidence, bool Success);

public readonly record struct ThresholdMove(double From, double To, string Reason, int Sample, double? ObservedSuccessRate);

/// <summary>
/// The threshold rule, pure. Candidates are 0.50, 0.51, ... 1.00. A candidate t meets the target when the resolved
/// decisions with confidence at or above t (all of them, human-approved escalations included: they are the ones
/// that would have been auto-approved at t) are at least MinSample and their success rate (its Wilson lower bound
/// at Z) reaches the target. The rule moves toward the lowest candidate that meets it, at most MaxStep at a time;
/// when none does and the decisions at or above the current threshold are seen to fall short of the target, it moves
/// up by MaxStep. It never moves on fewer than MinSample resolved decisions and never leaves [0, 1].
/// </summary>
public static class ThresholdRule
{
    public const double LowestCandidate = 0.5;
    public const double CandidateStep = 0.01;
    private const int Candidates = 51;

    public static ThresholdMove? Evaluate(double current, IReadOnlyList<Resolved> resolved, ThresholdOptions o)
    {
        current = Math.Clamp(current, 0, 1);
        if (resolved.Count < o.MinSample) return null;

        double? ideal = null;
        (int N, int S) atIdeal = default;
        for (var i = 0; i < Candidates && ideal is null; i++)
        {
            var t = Math.Round(LowestCandidate + i * CandidateStep, 2);
            var (n, s) = Above(resolved, t);
            if (n >= o.MinSample && LowerBound(s, n, o.Z) >= o.Target)
            {
                ideal = t;
                atIdeal = (n, s);
            }
        }

        var successes = resolved.Count(r => r.Success);
        double to;
        string reason;
        if (ideal is { } t0)
        {
            to = current + Math.Clamp(t0 - current, -o.MaxStep, o.MaxStep);
            reason = $"decisions with confidence >= {F(t0)} succeeded {F((double)atIdeal.S / atIdeal.N)} (n={atIdeal.N}), "
                     + $"target {F(o.Target)}: {(t0 < current ? "lowering" : "raising")} toward {F(t0)}";
        }
        else
        {
            // No candidate is shown to meet the target. Raise only when the decisions the current threshold lets
            // through are seen to fall short; while they meet it without proof, hold (a dead band, so noise alone
            // does not swing autonomy up and down).
            var (n, s) = Above(resolved, current);
            if (n < o.MinSample || (double)s / n >= o.Target) return null;
            to = current + o.MaxStep;
            reason = $"decisions with confidence >= {F(current)} succeeded {F((double)s / n)} (n={n}), below the target "
                     + $"{F(o.Target)}, and no threshold up to 1.00 is shown to meet it: raising";
        }
        // Rounded for readable events (0.8 - 0.1 is 0.7, not 0.7000000000000001, which 0.7 would not reach), but
        // never past the step (beyond float noise) or out of [0, 1].
        var rounded = Math.Round(to, 4);
        if (Math.Abs(rounded - current) > o.MaxStep + 1e-9)
            rounded = to > current ? Math.Floor(to * 1e4) / 1e4 : Math.Ceiling(to * 1e4) / 1e4;
        to = Math.Clamp(rounded, 0, 1);
        return Math.Abs(to - current) < 1e-9
            ? null
            : new ThresholdMove(current, to, reason, resolved.Count, (double)successes / resolved.Count);
    }

    private static (int N, int S) Above(IReadOnlyList<Resolved> resolved, double t)
    {
        int n = 0, s = 0;
        foreach (var r in resolved)
        {
            if (r.Confidence < t - 1e-9) continue;
            n++;
            if (r.Success) s++;
        }
        return (n, s);
    }

    /// <summary>Wilson score interval's lower bound of s successes in n trials at z (z = 0: the observed rate).</summary>
    public static double LowerBound(int s, int n, double z)
    {
        if (n == 0) return 0;
        var p = (double)s / n;
        if (z == 0) return p;
        var z2 = z * z;
        return (p + z2 / (2 * n) - z * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n))) / (1 + z2 / n);
    }

    private static string F(double x) => x.ToString("0.00", CultureInfo.InvariantCulture);
}

namespace Aetherra.Domain.Homeostasis;

public enum VitalCondition { Stable, Deviating }

/// <summary>The band a vital should stay in; either bound may be absent.</summary>
public readonly record struct Setpoint(double? Min, double? Max)
{
    public static readonly Setpoint None = new(null, null);

    public bool IsValid => Min is null || Max is null || Min <= Max;
}

/// <summary>
/// How vitals are judged. Alpha weighs the newest sample in the moving mean and variance (EWMA); a value more
/// than K deviations from the mean counts as outside once WarmUp samples have built a baseline. A vital must
/// be outside for RaiseAfter consecutive samples to deviate, and back inside for ResolveAfter consecutive
/// samples to recover: a series hovering at a limit never flaps. MinSpread keeps a near-constant vital from
/// deviating on noise: the spread used is at least that fraction of the mean.
/// </summary>
public readonly record struct Tuning(double Alpha, double K, int WarmUp, int RaiseAfter, int ResolveAfter, double MinSpread)
{
    public static readonly Tuning Default = new(0.2, 3, 10, 3, 3, 0.05);

    public bool IsValid => Alpha is > 0 and <= 1 && K > 0 && WarmUp >= 0 && RaiseAfter >= 1 && ResolveAfter >= 1 && MinSpread >= 0;
}

/// <summary>One vital of one node: its last value, moving baseline and the hysteresis counters.</summary>
public sealed record Vital(
    string Name, double Value, double Mean, double Variance, long Samples, VitalCondition Condition, DateTimeOffset Since,
    int Outside, int Inside)
{
    public double StdDev => Math.Sqrt(Variance);

    public static Vital Create(string name, DateTimeOffset at) => new(name, 0, 0, 0, 0, VitalCondition.Stable, at, 0, 0);

    /// <summary>Why a value is outside (setpoint first, then baseline), judged against the baseline before it; null when inside.</summary>
    public string? Breach(double value, Setpoint setpoint, Tuning tuning)
    {
        if (setpoint.Max is { } max && value > max) return $"above its setpoint maximum {max}";
        if (setpoint.Min is { } min && value < min) return $"below its setpoint minimum {min}";
        if (Samples < Math.Max(1, tuning.WarmUp)) return null;
        // A baseline of exactly zero spread has no scale: only a setpoint can say a change there matters.
        var spread = Math.Max(StdDev, tuning.MinSpread * Math.Abs(Mean));
        return spread > 0 && Math.Abs(value - Mean) > tuning.K * spread
            ? $"{Math.Abs(value - Mean) / spread:0.#} deviations from its baseline {Mean:0.###}"
            : null;
    }

    /// <summary>
    /// Folds one sample: the EWMA baseline moves, and the run of outside (or inside) samples grows or restarts.
    /// An outside sample of a stable vital leaves the baseline alone, or a sustained shift would be absorbed
    /// before it ever counted; once deviating, the baseline follows again, so a lasting new level becomes normal.
    /// </summary>
    public Vital Observe(double value, bool outside, double alpha)
    {
        double mean = value, variance = 0;
        if (outside && Condition == VitalCondition.Stable && Samples > 0)
            (mean, variance) = (Mean, Variance);
        else if (Samples > 0)
        {
            var d = value - Mean;
            mean = Mean + alpha * d;
            variance = (1 - alpha) * (Variance + alpha * d * d);
        }
        return this with
        {
            Value = value, Mean = mean, Variance = variance, Samples = Samples + 1,
            Outside = outside ? Outside + 1 : 0, Inside = outside ? 0 : Inside + 1,
        };
    }

    public Vital Apply(DeviationDetected e) => this with { Condition = VitalCondition.Deviating, Since = e.At, Outside = 0, Inside = 0 };

    public Vital Apply(DeviationResolved e) => this with { Condition = VitalCondition.Stable, Since = e.At, Outside = 0, Inside = 0 };
}

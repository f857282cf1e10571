namespace Aetherra.Domain.Homeostasis;

/// <summary>
/// One sample of a node's vitals. <c>Outside</c> names the vitals that were outside their setpoint or far
/// from their own baseline when sampled: the fact the hysteresis counts, so a fold never needs the setpoints
/// that were in force at the time.
/// </summary>
public sealed record VitalsSampled(string Node, DateTimeOffset At, IReadOnlyDictionary<string, double> Values, IReadOnlyList<string> Outside);

public sealed record DeviationDetected(string Node, string Vital, DateTimeOffset At, double Value, double Mean, double StdDev, string Reason);

public sealed record DeviationResolved(string Node, string Vital, DateTimeOffset At, double Value);

/// <summary>What a policy did about a deviation, and what came of it ("restarted", "job 0190...", "failed: ...").</summary>
public sealed record CorrectionApplied(string Node, string Vital, DateTimeOffset At, string Action, string Target, string Result);

public sealed record SetpointChanged(string Vital, double? Min, double? Max, DateTimeOffset At);

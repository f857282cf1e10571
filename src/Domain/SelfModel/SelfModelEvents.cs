namespace Aetherra.Domain.SelfModel;

/// <summary>
/// How far one agent's judgement can be trusted in one category, from the learning loop: the Brier score of its
/// resolved decisions (0 is perfect calibration, 1 the worst) and self-trust = 1 - Brier.
/// </summary>
public sealed record AgentTrust(string Tenant, string Agent, string Category, int Resolved, double? Brier, double? SelfTrust, double? SuccessRate);

/// <summary>A tenant's volumes at the snapshot: active memories and decisions waiting for a human.</summary>
public sealed record TenantVolumes(string Tenant, long ActiveMemories, long OpenEscalations);

public sealed record VitalReading(string Name, string Node, double Value, string State);

/// <summary>A correction homeostasis applied: what, never whom (targets name tenants' subjects and plugins).</summary>
public sealed record CorrectionReading(DateTimeOffset At, string Vital, string Action, string Result);

public sealed record ProjectionLagReading(string Name, long Lag);

/// <summary>
/// What the system could measure about itself at one moment, taken from its read models (learning loop, memory,
/// decisions, homeostasis, projections). Every figure is in the event, so the series replays exactly.
/// </summary>
public sealed record SelfSnapshotTaken(
    Guid SnapshotId, string Node, DateTimeOffset At, IReadOnlyList<AgentTrust> Agents, IReadOnlyList<TenantVolumes> Tenants,
    string Homeostasis, IReadOnlyList<VitalReading> Vitals, IReadOnlyList<CorrectionReading> RecentCorrections,
    double? RecallLatencyP95Ms, IReadOnlyList<ProjectionLagReading> Projections);

public static class SelfTrust
{
    /// <summary>1 - Brier: 1 for perfectly calibrated confidence, 0 for confidence always wrong; none before any outcome.</summary>
    public static double? Of(double? brier) => brier is { } b ? Math.Round(1 - b, 6) : null;
}

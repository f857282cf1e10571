using Aetherra.Application.Common;
using Aetherra.Application.Homeostasis;
using Aetherra.Domain.SelfModel;
using Marten;

namespace Aetherra.Application.SelfModel;

public sealed record AgentTrustView(string Agent, string Category, int Resolved, double? Brier, double? SelfTrust, double? SuccessRate, double? Movement);

public sealed record MemoryFigures(long Active, long? Growth);

public sealed record RecallFigures(double? LatencyP95Ms);

public sealed record HomeostasisFigures(string State, IReadOnlyList<VitalReading> Vitals, IReadOnlyList<CorrectionReading> RecentCorrections);

public sealed record EscalationFigures(long Open);

public sealed record TrendPoint(DateTimeOffset At, long ActiveMemories, long OpenEscalations, double? MeanSelfTrust, string Homeostasis);

public sealed record SelfView(
    DateTimeOffset At, string Node, IReadOnlyList<AgentTrustView> Agents, MemoryFigures Memory, RecallFigures Recall,
    HomeostasisFigures Homeostasis, EscalationFigures Escalations, IReadOnlyList<ProjectionLagReading> Projections, IReadOnlyList<TrendPoint> Trend);

/// <summary>The caller's tenant's part of the latest self-snapshot, with how each figure moved since the one before.</summary>
public static class ReadSelf
{
    public const int TrendPoints = 50;

    public static async Task<SelfView> Handle(string tenant, IDocumentStore store, CancellationToken ct)
    {
        await using var query = store.QuerySession(HomeostasisConfiguration.Tenant);
        var series = await query.LoadAsync<SelfSeries>(SelfSeries.Key, ct);
        if (series is not { Snapshots.Count: > 0 }) throw new NotFound("self-snapshot");
        var latest = series.Snapshots[^1];
        var previous = series.Snapshots.Count > 1 ? series.Snapshots[^2] : null;

        var before = (previous?.Agents ?? []).Where(a => a.Tenant == tenant).ToDictionary(a => (a.Agent, a.Category));
        var agents = latest.Agents.Where(a => a.Tenant == tenant).Select(a => new AgentTrustView(a.Agent, a.Category, a.Resolved, a.Brier,
            a.SelfTrust, a.SuccessRate,
            a.SelfTrust is { } now && before.TryGetValue((a.Agent, a.Category), out var b) && b.SelfTrust is { } then ? Math.Round(now - then, 6) : null)).ToList();
        var volumes = Volumes(latest, tenant);
        var earlier = previous is null ? null : Volumes(previous, tenant);
        var trend = series.Snapshots.TakeLast(TrendPoints).Select(s =>
        {
            var v = Volumes(s, tenant);
            var trusts = s.Agents.Where(a => a.Tenant == tenant && a.SelfTrust is not null).Select(a => a.SelfTrust!.Value).ToList();
            return new TrendPoint(s.At, v.ActiveMemories, v.OpenEscalations, trusts.Count == 0 ? null : Math.Round(trusts.Average(), 6), s.Homeostasis);
        }).ToList();
        return new SelfView(latest.At, latest.Node, agents,
            new MemoryFigures(volumes.ActiveMemories, earlier is null ? null : volumes.ActiveMemories - earlier.ActiveMemories),
            new RecallFigures(latest.RecallLatencyP95Ms),
            new HomeostasisFigures(latest.Homeostasis, latest.Vitals, latest.RecentCorrections),
            new EscalationFigures(volumes.OpenEscalations), latest.Projections, trend);
    }

    private static TenantVolumes Volumes(SelfSnapshotTaken s, string tenant) =>
        s.Tenants.FirstOrDefault(t => t.Tenant == tenant) ?? new TenantVolumes(tenant, 0, 0);
}

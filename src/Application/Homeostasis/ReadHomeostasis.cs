using Aetherra.Domain.Homeostasis;
using Marten;

namespace Aetherra.Application.Homeostasis;

public sealed record SetpointView(double? Min, double? Max);

public sealed record VitalView(
    string Name, string Node, double Value, double Mean, double Stddev, SetpointView Setpoint, string State, DateTimeOffset Since);

/// <summary>A correction as a reader sees it: <c>Target</c> is null when it names another tenant's subject or plugin.</summary>
public sealed record CorrectionEntry(DateTimeOffset At, string Node, string Vital, string Action, string? Target, string Result);

public sealed record HomeostasisReport(string State, IReadOnlyList<VitalView> Vitals, IReadOnlyList<CorrectionEntry> Corrections);

public static class ReadHomeostasis
{
    /// <summary>
    /// Every node's vitals. The system is degraded while any vital deviates, and correcting while a deviating
    /// vital has had a correction since its deviation began. Vitals are the system's; a consolidation's target
    /// is a tenant's subject, shown only to that tenant or the operator.
    /// </summary>
    public static async Task<HomeostasisReport> Get(
        IDocumentStore store, HomeostasisSettings settings, string tenant, bool operatorView, CancellationToken ct)
    {
        await using var session = store.QuerySession(HomeostasisConfiguration.Tenant);
        var nodes = await session.Query<HomeostasisNode>().ToListAsync(ct);
        var setpoints = (await session.LoadAsync<HomeostasisSetpoints>(HomeostasisSetpoints.Key, ct))?.Setpoints ?? [];

        var vitals = nodes.SelectMany(n => n.Vitals.Values.Select(v =>
            {
                var s = setpoints.TryGetValue(v.Name, out var set) ? set : settings.DefaultSetpoint(v.Name);
                return new VitalView(v.Name, n.Id, v.Value, v.Mean, v.StdDev, new SetpointView(s.Min, s.Max),
                    v.Condition == VitalCondition.Deviating ? "deviating" : "stable", v.Since);
            }))
            .OrderBy(v => v.Name, StringComparer.Ordinal).ThenBy(v => v.Node, StringComparer.Ordinal)
            .ToList();
        // Only a projection restart names something of the whole system; every other correction names a
        // tenant's subject, plugin or agent (tenant/...), shown to that tenant and to the operator only.
        string? Visible(CorrectionView c) =>
            operatorView || c.Action == Corrections.RestartProjection || c.Target.StartsWith(tenant + "/", StringComparison.Ordinal)
                ? c.Target : null;
        var corrections = nodes.SelectMany(n => n.Corrections.Select(c => new CorrectionEntry(c.At, n.Id, c.Vital, c.Action, Visible(c), c.Result)))
            .OrderByDescending(c => c.At).Take(HomeostasisNode.KeptCorrections).ToList();

        var deviating = nodes.SelectMany(n => n.Vitals.Values.Where(v => v.Condition == VitalCondition.Deviating).Select(v => (n, v))).ToList();
        var state = deviating.Count == 0 ? "stable"
            : deviating.Any(d => d.n.Corrections.Any(c => c.Vital == d.v.Name && c.At >= d.v.Since)) ? "correcting"
            : "degraded";
        return new HomeostasisReport(state, vitals, corrections);
    }
}

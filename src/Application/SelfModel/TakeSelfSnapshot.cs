using System.Security.Cryptography;
using System.Text;
using Aetherra.Application.Homeostasis;
using Aetherra.Application.Learning;
using Aetherra.Application.Operations;
using Aetherra.Domain.Decisions;
using Aetherra.Domain.Memory;
using Aetherra.Domain.SelfModel;
using Aetherra.Infrastructure;
using Marten;
using Npgsql;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.SelfModel;

public sealed record SelfSnapshotResult(Guid Id, DateTimeOffset At, int Tenants, int Agents, long Sequence);

/// <summary>
/// Takes a snapshot of what the system knows about itself, for every tenant, from the read models as they are now,
/// and appends it as <c>self.snapshot-taken.v1</c> on the node's stream of the day (in the system's tenant).
/// </summary>
public sealed class TakeSelfSnapshot(
    IDocumentStore store, NpgsqlDataSource db, ProjectionOperations projections, HomeostasisSettings homeostasis, TimeProvider clock)
    : IDisposable
{
    public const string Action = "self.snapshot";

    /// <param name="actor">The operator's key id on demand; "system" for the periodic snapshot.</param>
    public async Task<SelfSnapshotResult> HandleAsync(string actor, Guid requestId, CancellationToken ct)
    {
        // A node's snapshots go to one stream (the node's day): taken one at a time, they never race for its next version.
        await _one.WaitAsync(ct);
        try
        {
            return await TakeAsync(actor, requestId, ct);
        }
        finally
        {
            _one.Release();
        }
    }

    private readonly SemaphoreSlim _one = new(1, 1);

    public void Dispose() => _one.Dispose();

    private async Task<SelfSnapshotResult> TakeAsync(string actor, Guid requestId, CancellationToken ct)
    {
        var agents = new List<AgentTrust>();
        var volumes = new List<TenantVolumes>();
        foreach (var tenant in await TenantsAsync(ct))
        {
            await using var query = store.QuerySession(tenant);
            foreach (var s in await query.Query<LearningStats>().OrderBy(x => x.Agent).ThenBy(x => x.Category).ToListAsync(ct))
            {
                double? brier = s.Resolved == 0 ? null : s.BrierSum / s.Resolved;
                agents.Add(new AgentTrust(tenant, s.Agent, s.Category, s.Resolved, brier, SelfTrust.Of(brier),
                    s.Resolved == 0 ? null : (double)s.Successes / s.Resolved));
            }
            var active = await query.Query<MemoryState>().CountAsync(m => m.Status == MemoryStatus.Active, ct);
            var escalated = await query.Query<Decision>().CountAsync(d => d.Status == DecisionStatus.Escalated, ct);
            volumes.Add(new TenantVolumes(tenant, active, escalated));
        }

        var report = await ReadHomeostasis.Get(store, homeostasis, "", operatorView: true, ct);
        var lags = (await projections.ListAsync(ct)).Where(p => p.Lifecycle == "async").Select(p => new ProjectionLagReading(p.Name, p.Lag)).ToList();
        var recall = report.Vitals.Where(v => v.Name == Vitals.RecallLatency).Select(v => (double?)v.Value).Max();
        var now = clock.GetUtcNow();
        var snapshot = new SelfSnapshotTaken(Guid.CreateVersion7(), homeostasis.Node, now, agents, volumes, report.State,
            report.Vitals.Select(v => new VitalReading(v.Name, v.Node, v.Value, v.State)).ToList(),
            report.Corrections.Take(10).Select(c => new CorrectionReading(c.At, c.Vital, c.Action, c.Result)).ToList(),
            recall, lags);

        await using var session = store.LightweightSession(HomeostasisConfiguration.Tenant);
        session.LastModifiedBy = actor;
        session.CorrelationId = requestId.ToString();
        var stream = session.Events.Append(Stream(homeostasis.Node, now), snapshot);
        await session.SaveChangesAsync(ct);
        var sequence = stream.Events.Max(e => e.Sequence);
        return new SelfSnapshotResult(snapshot.SnapshotId, now, volumes.Count, agents.Count, sequence);
    }

    /// <summary>Every tenant that has ever had a key: the installation's tenants.</summary>
    private async Task<IReadOnlyList<string>> TenantsAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"select distinct tenant_id from {AetherraSettings.Schema}.api_keys order by 1");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var tenants = new List<string>();
        while (await reader.ReadAsync(ct)) tenants.Add(reader.GetString(0));
        return tenants;
    }

    /// <summary>One stream per node per day (UUID v5 of both): a day's snapshots of one node read as one stream.</summary>
    public static Guid Stream(string node, DateTimeOffset at) =>
        Plugins.PluginStreams.NameBased($"self\n{node}\n{at.UtcDateTime:yyyy-MM-dd}");
}

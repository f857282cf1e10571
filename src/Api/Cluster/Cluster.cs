using System.Globalization;
using Aetherra.Infrastructure;
using Npgsql;
using Wolverine.Runtime;

namespace Aetherra.Api.Cluster;

/// <summary>
/// How the nodes of one installation find each other: all share one PostgreSQL, where Wolverine keeps its node
/// table (heartbeats, leader, agent assignments). AETHERRA_NODE names this node (default: the machine's name);
/// AETHERRA_CLUSTER_STALE_SECONDS is how long a node's heartbeat may be silent before the leader counts it dead
/// and moves its agents (default 20; Wolverine ejects it after two such observations, one heartbeat apart).
/// </summary>
public sealed record ClusterSettings(string Node, TimeSpan StaleAfter)
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(2);

    public static ClusterSettings From(IConfiguration config)
    {
        var node = config["AETHERRA_NODE"] is { Length: > 0 } n ? n : Environment.MachineName;
        var stale = double.TryParse(config["AETHERRA_CLUSTER_STALE_SECONDS"], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(20);
        // Two heartbeats at least: a node is never judged on one late beat.
        return new ClusterSettings(node, stale < 2 * Heartbeat ? 2 * Heartbeat : stale);
    }
}

public sealed record ClusterNode(
    Guid NodeId, int Number, string? Name, string? Urls, int? ProcessId, string? Version, bool Leader, bool Self,
    DateTimeOffset Started, DateTimeOffset LastSeen, IReadOnlyList<string> Agents);

public sealed record ClusterView(Guid Self, TimeSpan StaleAfter, IReadOnlyList<ClusterNode> Nodes);

/// <summary>
/// This node's entry in <c>cluster_members</c> (its name, address and process beside Wolverine's node id), written
/// at start-up; and the cluster as <c>GET /admin/cluster</c> shows it: Wolverine's nodes with their last heartbeat and
/// the agents each runs (the async projections, the cluster timers, Wolverine's own durability agent), named.
/// </summary>
public sealed class ClusterMembership(
    NpgsqlDataSource db, IWolverineRuntime runtime, ClusterSettings settings, AetherraSettings aetherra, TimeProvider clock) : IHostedService
{
    private const string S = AetherraSettings.Schema;

    public Guid Self => runtime.Options.UniqueNodeId;

    public async Task StartAsync(CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        var cmd = new NpgsqlBatchCommand($"""
            insert into {S}.cluster_members (node_id, name, urls, pid, version, started_at) values ($1, $2, $3, $4, $5, $6)
            on conflict (node_id) do nothing
            """);
        batch.BatchCommands.Add(cmd);
        // Nodes of long ago: Wolverine forgot them already.
        var prune = new NpgsqlBatchCommand($"delete from {S}.cluster_members where started_at < $1");
        prune.Parameters.Add(new() { Value = clock.GetUtcNow().AddDays(-30) });
        batch.BatchCommands.Add(prune);
        cmd.Parameters.Add(new() { Value = Self });
        cmd.Parameters.Add(new() { Value = settings.Node });
        cmd.Parameters.Add(new() { Value = (object?)aetherra.Urls ?? DBNull.Value });
        cmd.Parameters.Add(new() { Value = Environment.ProcessId });
        cmd.Parameters.Add(new() { Value = typeof(ClusterMembership).Assembly.GetName().Version?.ToString() ?? "0" });
        cmd.Parameters.Add(new() { Value = clock.GetUtcNow() });
        await batch.ExecuteNonQueryAsync(ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    public async Task<ClusterView> ReadAsync(CancellationToken ct)
    {
        var nodes = await runtime.Storage.Nodes.LoadAllNodesAsync(ct);
        var members = new Dictionary<Guid, (string Name, string? Urls, int Pid, string Version)>();
        await using (var cmd = db.CreateCommand($"select node_id, name, urls, pid, version from {S}.cluster_members where node_id = any($1)"))
        {
            cmd.Parameters.Add(new() { Value = nodes.Select(n => n.NodeId).ToArray() });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                members[reader.GetGuid(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt32(3), reader.GetString(4));
        }
        return new ClusterView(Self, settings.StaleAfter, nodes
            .OrderBy(n => n.AssignedNodeNumber)
            .Select(n =>
            {
                var known = members.TryGetValue(n.NodeId, out var m);
                return new ClusterNode(n.NodeId, n.AssignedNodeNumber, known ? m.Name : null, known ? m.Urls : null,
                    known ? m.Pid : null, known ? m.Version : null, n.IsLeader(), n.NodeId == Self, n.Started, n.LastHealthCheck,
                    n.ActiveAgents.Select(a => a.ToString()).Order(StringComparer.Ordinal).ToList());
            })
            .ToList());
    }
}

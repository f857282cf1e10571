using Aetherra.Domain.Tasks;
using Marten;
using Npgsql;

namespace Aetherra.Application.Tasks;

/// <summary>
/// The queue's one query: the next tasks this agent may take, their TaskQueue rows locked FOR UPDATE SKIP LOCKED in
/// the caller's transaction. A row another claimer holds is skipped, never waited for and never handed out twice;
/// one that changed while this query waited for it is re-checked by PostgreSQL against the WHERE clause.
/// </summary>
public static class TaskQueue
{
    private const string Table = $"{Infrastructure.AetherraSettings.Schema}.mt_doc_{TaskConfiguration.Alias}";
    private const string Agents = $"{Infrastructure.AetherraSettings.Schema}.mt_doc_agent";

    // Ready: queued or waiting, past its backoff, for any agent or this one, every dependency completed; or claimed
    // with its lease run out (the claim expires it first). Highest priority first, then oldest. The two kinds are two
    // walks, each down its own partial index (TaskConfiguration): one condition joined by OR would make PostgreSQL
    // walk the priority index past every claimed and finished task on the way (at 1,500 claimed tasks a claim read
    // ~900 rows to lock one). Each walk locks its best row; the caller takes the better of the two (Candidates), and
    // the other stays locked, untouched, until the transaction ends (other claimers pass it by meanwhile). The same
    // round trip reads the claiming agent's standing (a suspended agent claims nothing; its row locks, if any, go
    // with the transaction the caller then rolls back).
    private const string Dependencies = $"""
        not exists (
              select 1 from jsonb_array_elements_text(t.data -> 'dependsOn') dep
              left join {Table} d on d.tenant_id = t.tenant_id and d.id = dep::uuid
              where d.status is distinct from 'Completed')
        """;

    private const string NextSql = $"""
        select (select a.data ->> 'status' = 'Suspended' from {Agents} a where a.tenant_id = $1 and a.id = $5),
        q.data, e.data from (select 1) one
        left join lateral (select t.data from {Table} t
            where t.tenant_id = $1 and t.status in ('Queued', 'Waiting') and t.not_before <= $3
              and (t.agent is null or t.agent = $2) and not (t.id = any($4)) and {Dependencies}
            order by t.priority desc, t.sequence
            limit 1
            for update of t skip locked) q on true
        left join lateral (select t.data from {Table} t
            where t.tenant_id = $1 and t.status = 'Claimed' and t.lease_until <= $3
              and (t.agent is null or t.agent = $2) and not (t.id = any($4)) and {Dependencies}
            order by t.priority desc, t.sequence
            limit 1
            for update of t skip locked) e on true
        """;

    /// <returns>
    /// Whether the agent is suspended, and the tasks it may take next, best first (none: empty; at most two), read
    /// from their locked rows: each row is the task's state at its stream's current version (the inline projection
    /// writes it with every event, in the event's transaction, which the lock now keeps out until this one ends).
    /// </returns>
    public static async Task<(bool Suspended, IReadOnlyList<AgentTask> Candidates)> NextAsync(
        NpgsqlConnection connection, ISerializer serializer, string tenant, string agent, DateTimeOffset now, IReadOnlyCollection<Guid> passed,
        CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(NextSql, connection);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = agent });
        cmd.Parameters.Add(new() { Value = now });
        cmd.Parameters.Add(new() { Value = passed.ToArray() });
        cmd.Parameters.Add(new() { Value = Domain.Agents.Agent.IdFor(agent) });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var suspended = !reader.IsDBNull(0) && reader.GetBoolean(0);
        var candidates = new List<AgentTask>(2);
        if (!reader.IsDBNull(1)) candidates.Add(serializer.FromJson<AgentTask>(reader, 1));
        if (!reader.IsDBNull(2)) candidates.Add(serializer.FromJson<AgentTask>(reader, 2));
        candidates.Sort(Before);
        return (suspended, candidates);
    }

    /// <summary>The queue's order: highest priority first, then oldest (the creation's global sequence).</summary>
    private static int Before(AgentTask a, AgentTask b) =>
        a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority) : a.Sequence.CompareTo(b.Sequence);
}

using Aetherra.Domain.Tasks;
using Marten;
using Npgsql;

namespace Aetherra.Application.Tasks;

/// <summary>
/// The queue's one query: the next task this agent may take, its TaskQueue row locked FOR UPDATE SKIP LOCKED in
/// the caller's transaction. A row another claimer holds is skipped, never waited for and never handed out twice;
/// one that changed while this query waited for it is re-checked by PostgreSQL against the WHERE clause.
/// </summary>
public static class TaskQueue
{
    private const string Table = $"{Infrastructure.AetherraSettings.Schema}.mt_doc_{TaskConfiguration.Alias}";
    private const string Agents = $"{Infrastructure.AetherraSettings.Schema}.mt_doc_agent";

    // Ready: queued or waiting, past its backoff, for any agent or this one, every dependency completed. A claim
    // whose lease ran out is ready too (the claim expires it first). Highest priority first, then oldest. The same
    // round trip reads the claiming agent's standing (a suspended agent claims nothing; its row lock, if any, goes
    // with the transaction the caller then rolls back).
    private const string NextSql = $"""
        select (select a.data ->> 'status' = 'Suspended' from {Agents} a where a.tenant_id = $1 and a.id = $5),
        n.data from (select 1) one left join lateral (select t.data from {Table} t
        where t.tenant_id = $1
          and (t.agent is null or t.agent = $2)
          and ((t.status in ('Queued', 'Waiting') and t.not_before <= $3) or (t.status = 'Claimed' and t.lease_until <= $3))
          and not (t.id = any($4))
          and not exists (
              select 1 from jsonb_array_elements_text(t.data -> 'dependsOn') dep
              left join {Table} d on d.tenant_id = t.tenant_id and d.id = dep::uuid
              where d.status is distinct from 'Completed')
        order by t.priority desc, t.sequence
        limit 1
        for update of t skip locked) n on true
        """;

    /// <returns>
    /// Whether the agent is suspended, and the next task it may take (none: null), read from its locked row: the row
    /// is the task's state at its stream's current version (the inline projection writes it with every event, in
    /// the event's transaction, which the lock now keeps out until this transaction ends).
    /// </returns>
    public static async Task<(bool Suspended, AgentTask? Next)> NextAsync(
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
        if (reader.IsDBNull(1)) return (suspended, null);
        return (suspended, serializer.FromJson<AgentTask>(reader, 1));
    }
}

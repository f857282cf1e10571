using Aetherra.Domain.Tasks;
using Marten;
using Npgsql;
using NpgsqlTypes;

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
    private const string Sequence = $"{Infrastructure.AetherraSettings.Schema}.mt_events_sequence";

    // Ready: queued or waiting, past its backoff, for any agent or this one, every dependency completed; or claimed
    // with its lease run out (the claim expires it first). Highest priority first, then oldest. The two kinds are two
    // walks, each down its own partial index (TaskConfiguration): one condition joined by OR would make PostgreSQL
    // walk the priority index past every claimed and finished task on the way (at 1,500 claimed tasks a claim read
    // ~900 rows to lock one). Each walk locks its best row; the caller takes the better of the two (Candidates), and
    // the other stays locked, untouched, until the transaction ends (other claimers pass it by meanwhile). The same
    // round trip reads the claiming agent's standing (a suspended agent claims nothing; its row locks, if any, go
    // with the transaction the caller then rolls back), and takes the global sequences the claim's events will
    // carry from Marten's own sequence, as a rich append does before it writes ($6 of them when no task is ready:
    // the audit record's; $7 when one is: the claim's and the audit record's; none for a suspended agent), so that
    // the claim's writes and its commit can go in one round trip after this one.
    private const string Dependencies = $"""
        not exists (
              select 1 from jsonb_array_elements_text(t.data -> 'dependsOn') dep
              left join {Table} d on d.tenant_id = t.tenant_id and d.id = dep::uuid
              where d.status is distinct from 'Completed')
        """;

    // The agent's standing is read once ("offset 0" keeps PostgreSQL from pulling the subquery up into its two uses,
    // which read the agent's row twice; MeasurementSwitches.ClaimBefore: as before, without it).
    private static string NextSql(string standing) => $"""
        select s.suspended, q.data, e.data,
            array(select nextval('{Sequence}') from generate_series(1,
                case when s.suspended then 0 when q.data is null and e.data is null then $6 else $7 end))
        from (select (select a.data ->> 'status' = 'Suspended' from {Agents} a where a.tenant_id = $1 and a.id = $5) suspended{standing}) s
        left join lateral {Walks}
        """;

    private const string Walks = $"""
        (select t.data from {Table} t
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

    /// <summary>The queue query as this server sends it ($1 tenant, $2 agent, $3 now, $4 tasks passed, $5 the agent's id, $6 and $7 the sequences to take); tests read its plan.</summary>
    public static string Sql { get; } = NextSql(Infrastructure.MeasurementSwitches.ClaimBefore ? "" : " offset 0");

    /// <param name="begin">Open the transaction in the same round trip (BEGIN sent with the query).</param>
    /// <param name="reserveIfNone">Global sequences to reserve when no task is ready (and the agent may claim).</param>
    /// <param name="reserveIfAny">Global sequences to reserve when a task is ready.</param>
    /// <returns>
    /// Whether the agent is suspended, and the tasks it may take next, best first (none: empty; at most two), read
    /// from their locked rows: each row is the task's state at its stream's current version (the inline projection
    /// writes it with every event, in the event's transaction, which the lock now keeps out until this one ends);
    /// and the sequences reserved, ascending.
    /// </returns>
    public static async Task<(bool Suspended, IReadOnlyList<AgentTask> Candidates, long[] Sequences)> NextAsync(
        NpgsqlConnection connection, ISerializer serializer, string tenant, string agent, DateTimeOffset now, IReadOnlyCollection<Guid> passed,
        bool begin, int reserveIfNone, int reserveIfAny, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection);
        if (begin) batch.BatchCommands.Add(new NpgsqlBatchCommand("begin"));
        var cmd = new NpgsqlBatchCommand(Sql);
        batch.BatchCommands.Add(cmd);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = agent });
        cmd.Parameters.Add(new() { Value = now });
        cmd.Parameters.Add(new() { Value = passed.ToArray() });
        cmd.Parameters.Add(new() { Value = Domain.Agents.Agent.IdFor(agent) });
        cmd.Parameters.Add(new() { Value = reserveIfNone, NpgsqlDbType = NpgsqlDbType.Integer });
        cmd.Parameters.Add(new() { Value = reserveIfAny, NpgsqlDbType = NpgsqlDbType.Integer });
        await using var reader = await batch.ExecuteReaderAsync(ct);
        // BEGIN, when sent, answers no rows: the query's result is the one with columns.
        while (reader.FieldCount == 0 && await reader.NextResultAsync(ct)) { }
        await reader.ReadAsync(ct);
        var suspended = !reader.IsDBNull(0) && reader.GetBoolean(0);
        var candidates = new List<AgentTask>(2);
        if (!reader.IsDBNull(1)) candidates.Add(serializer.FromJson<AgentTask>(reader, 1));
        if (!reader.IsDBNull(2)) candidates.Add(serializer.FromJson<AgentTask>(reader, 2));
        candidates.Sort(Before);
        var sequences = reader.GetFieldValue<long[]>(3);
        Array.Sort(sequences);
        return (suspended, candidates, sequences);
    }

    // The batch's query (ClaimBatch): the same two walks for several requests at once, each locking up to $5 rows (the
    // requests' count) for the agents that may claim ($2 the requests' agents, $4 their ids, in the same order: a
    // suspended agent's requests lock nothing and are answered with the refusal), and the sequences the batch will
    // most likely need: an audit record per request that may claim, and a claim event per row locked, up to one per
    // such request. Row 0 holds the suspended agents and the sequences; rows 1 and 2 the ready and the expired tasks.
    private const string BatchSql = $"""
        with r as materialized (
            select n.agent, coalesce((select a.data ->> 'status' = 'Suspended' from {Agents} a where a.tenant_id = $1 and a.id = n.id), false) suspended
            from unnest($2::text[], $4::uuid[]) n(agent, id)),
        ok as materialized (select coalesce(array_agg(distinct r.agent), array[]::text[]) agents, count(*)::int claims from r where not r.suspended),
        q as materialized (select t.data from {Table} t
            where t.tenant_id = $1 and t.status in ('Queued', 'Waiting') and t.not_before <= $3
              and (t.agent is null or t.agent::text = any((select ok.agents from ok)::text[])) and (select ok.claims from ok) > 0 and {Dependencies}
            order by t.priority desc, t.sequence
            limit $5
            for update of t skip locked),
        e as materialized (select t.data from {Table} t
            where t.tenant_id = $1 and t.status = 'Claimed' and t.lease_until <= $3
              and (t.agent is null or t.agent::text = any((select ok.agents from ok)::text[])) and (select ok.claims from ok) > 0 and {Dependencies}
            order by t.priority desc, t.sequence
            limit $5
            for update of t skip locked)
        select 0 as kind, null::jsonb as data, (select coalesce(array_agg(r.agent), array[]::text[]) from r where r.suspended) as suspended,
            array(select nextval('{Sequence}') from generate_series(1,
                (select ok.claims + least(ok.claims, (select count(*) from q) + (select count(*) from e))::int from ok))) as sequences
        union all select 1, q.data, null, null from q
        union all select 2, e.data, null, null from e
        """;

    /// <summary>The batch's queue query as this server sends it ($1 tenant, $2 agents, $3 now, $4 the agents' ids, $5 rows per walk); tests read its plan.</summary>
    public static string BatchQuery => BatchSql;

    /// <summary>
    /// BEGIN and the batch's queue query in one round trip: the agents of <paramref name="agents"/> that are suspended,
    /// the ready and the expired tasks locked (up to <paramref name="limit"/> each, best first), and the sequences
    /// reserved, ascending.
    /// </summary>
    public static async Task<(HashSet<string> Suspended, List<AgentTask> Ready, List<AgentTask> Expired, long[] Sequences)> NextForAllAsync(
        NpgsqlConnection connection, ISerializer serializer, string tenant, string[] agents, DateTimeOffset now, int limit, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("begin"));
        var cmd = new NpgsqlBatchCommand(BatchSql);
        batch.BatchCommands.Add(cmd);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = agents, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = now });
        cmd.Parameters.Add(new() { Value = agents.Select(Domain.Agents.Agent.IdFor).ToArray() });
        cmd.Parameters.Add(new() { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer });
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (reader.FieldCount == 0 && await reader.NextResultAsync(ct)) { }
        HashSet<string> suspended = [];
        List<AgentTask> ready = [], expired = [];
        long[] sequences = [];
        while (await reader.ReadAsync(ct))
        {
            switch (reader.GetInt32(0))
            {
                case 0:
                    suspended = [.. reader.GetFieldValue<string[]>(2)];
                    sequences = reader.GetFieldValue<long[]>(3);
                    break;
                case 1: ready.Add(serializer.FromJson<AgentTask>(reader, 1)); break;
                default: expired.Add(serializer.FromJson<AgentTask>(reader, 1)); break;
            }
        }
        Array.Sort(sequences);
        return (suspended, ready, expired, sequences);
    }

    private const string WriteSql = $"""
        update {Table} set data = $3, mt_version = $4, mt_last_modified = transaction_timestamp(), status = $5, priority = $6,
            sequence = $7, not_before = $8, lease_until = $9, agent = $10, claimed_by = $11
        where tenant_id = $1 and id = $2
        """;

    /// <summary>
    /// The task's row as the inline projection's upsert leaves it after the task's stream reached
    /// <paramref name="version"/> (mt_version is the stream's version; the duplicated columns the document's).
    /// The row exists (the queue query locked it).
    /// </summary>
    public static NpgsqlBatchCommand Write(string tenant, AgentTask task, long version, ISerializer serializer)
    {
        var cmd = new NpgsqlBatchCommand(WriteSql);
        cmd.Parameters.Add(new() { Value = tenant, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = task.Id, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new() { Value = serializer.ToJson(task), NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(new() { Value = version, NpgsqlDbType = NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new() { Value = task.Status.ToString(), NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = task.Priority, NpgsqlDbType = NpgsqlDbType.Integer });
        cmd.Parameters.Add(new() { Value = task.Sequence, NpgsqlDbType = NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new() { Value = task.NotBefore, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = (object?)task.LeaseUntil ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = (object?)task.Agent ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = (object?)task.ClaimedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
        return cmd;
    }

    /// <summary>The queue's order: highest priority first, then oldest (the creation's global sequence).</summary>
    public static int Before(AgentTask a, AgentTask b) =>
        a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority) : a.Sequence.CompareTo(b.Sequence);
}

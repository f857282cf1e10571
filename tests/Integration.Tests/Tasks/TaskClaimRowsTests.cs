using Aetherra.Application.Common;
using Aetherra.Application.Tasks;
using Aetherra.Domain.Tasks;
using Aetherra.Integration.Tests.Decisions;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Aetherra.Integration.Tests.Tasks;

/// <summary>
/// A claim writes Marten's rows itself (two round trips instead of a session's five): the rows must be the ones a
/// session writes, the documents the ones the inline projections fold, and the events plain events to every reader.
/// </summary>
public sealed class TaskClaimRowsTests(AetherraFixture fx)
{
    private IDocumentStore Store => fx.Host.Services.GetRequiredService<IDocumentStore>();

    [Fact]
    public async Task a_claim_writes_the_same_rows_as_a_claim_through_a_marten_session()
    {
        var key = await fx.NewTenantAsync([.. TaskSupport.AllScopes, "events:read"]);
        var client = fx.Client(key.Key);
        // Two tasks alike but for priority: the session claims the first, the row writer the second.
        var first = await client.CreateTaskAsync(new { title = "same", priority = 9, input = new { n = 1 } });
        var second = await client.CreateTaskAsync(new { title = "same", priority = 8, input = new { n = 1 } });

        var bySession = await ClaimAsync(key, "agent-s", throughSession: true);
        var byRows = await ClaimAsync(key, "agent-s", throughSession: false);
        Assert.Equal(first, bySession.Claim!.Id);
        Assert.Equal(second, byRows.Claim!.Id);

        // The task stream, its claim event and the audit stream and event: every column alike but for the ids,
        // times and sequences each claim has of its own.
        Assert.Equal(Masked(Rows(TaskSql, key.Tenant, first), first, bySession), Masked(Rows(TaskSql, key.Tenant, second), second, byRows));
        Assert.Equal(Masked(Rows(AuditSql, key.Tenant, bySession.Command.RequestId), first, bySession),
            Masked(Rows(AuditSql, key.Tenant, byRows.Command.RequestId), second, byRows));
        Assert.True(byRows.Command.Audited);

        // The documents are what the inline projections fold from the events as stored (a live aggregation reads
        // them back with their sequences, versions, times and actors).
        await AssertDocumentIsTheProjectionsAsync(key.Tenant, second);
        await AssertDocumentIsTheProjectionsAsync(key.Tenant, first);

        // The answer's sequence is the last event's (the audit record's), as a session's commit answers it.
        var audit = Rows(AuditSql, key.Tenant, byRows.Command.RequestId).Single(r => r.StartsWith("event", StringComparison.Ordinal));
        Assert.Contains($"seq={byRows.Claim.Sequence};", audit);
    }

    [Fact]
    public async Task a_batch_of_claims_writes_for_each_the_same_rows_as_a_claim_through_a_marten_session()
    {
        var key = await fx.NewTenantAsync([.. TaskSupport.AllScopes, "events:read"]);
        var client = fx.Client(key.Key);
        var first = await client.CreateTaskAsync(new { title = "same", priority = 9, input = new { n = 1 } });
        var second = await client.CreateTaskAsync(new { title = "same", priority = 8, input = new { n = 1 } });
        var third = await client.CreateTaskAsync(new { title = "same", priority = 7, input = new { n = 1 } });

        var bySession = await ClaimAsync(key, "agent-s", throughSession: true);
        var requests = new[] { Request(key, "agent-s"), Request(key, "agent-s"), Request(key, "agent-s") };
        Assert.All(await ClaimBatch.ClaimTogetherAsync(requests, Store, TimeProvider.System, null, CancellationToken.None),
            t => Assert.Equal(ClaimTurn.Done, t));
        Assert.Equal(first, bySession.Claim!.Id);
        Assert.Equal([second, third], requests.Take(2).Select(r => r.Result!.Id));
        Assert.Null(requests[2].Result);

        foreach (var (task, request) in new[] { (second, requests[0]), (third, requests[1]) })
        {
            var batched = new Claimed(request.Command, request.Result);
            Assert.Equal(Masked(Rows(TaskSql, key.Tenant, first), first, bySession), Masked(Rows(TaskSql, key.Tenant, task), task, batched));
            Assert.Equal(Masked(Rows(AuditSql, key.Tenant, bySession.Command.RequestId), first, bySession),
                Masked(Rows(AuditSql, key.Tenant, request.Command.RequestId), task, batched));
            await AssertDocumentIsTheProjectionsAsync(key.Tenant, task);
            var audit = Rows(AuditSql, key.Tenant, request.Command.RequestId).Single(r => r.StartsWith("event", StringComparison.Ordinal));
            Assert.Contains($"seq={request.Result!.Sequence};", audit);
        }
        // The empty answer has its audit record as well, and the feed reaches the batch's last sequence (no gap holds
        // the daemon's high-water mark back).
        Assert.True(requests[2].Command.Audited);
        var last = requests.Take(2).Max(r => r.Result!.Sequence);
        var page = await (await client.GetAsync($"/events?types=task.claimed.v1&minSequence={last}")).Json();
        Assert.Equal(3, page.GetProperty("events").GetArrayLength());
    }

    private static PendingClaim Request(TenantKey key, string agent) =>
        new(new ClaimTask(agent, 60), new CommandContext(key.KeyId.ToString(), key.Tenant, Guid.CreateVersion7(), "task.claim"), CancellationToken.None);

    [Fact]
    public async Task a_reclaim_after_a_lease_ran_out_and_an_empty_queue_write_plain_events_that_the_feed_and_projections_read()
    {
        var key = await fx.NewTenantAsync([.. TaskSupport.AllScopes, "events:read"]);
        var client = fx.Client(key.Key);
        var id = await client.CreateTaskAsync(new { title = "short lease", priority = 5 });

        var claim = (await client.ClaimAsync("first", leaseSeconds: 1))!.Value;
        await TaskSupport.LeaseRunsOutAsync(claim);
        // The second claim appends the expiry and the new claim (three events with the audit record: one more
        // sequence than the queue query takes, fetched on the way).
        var again = (await client.ClaimAsync("second"))!.Value;
        Assert.Equal(id, again.Id());
        Assert.Equal(2, again.GetProperty("attempt").GetInt32());
        Assert.Null(await client.ClaimAsync("third"));

        await AssertDocumentIsTheProjectionsAsync(key.Tenant, id);
        var task = await client.GetOkAsync($"/tasks/{id}");
        Assert.Equal(["created", "claimed", "lease-expired", "claimed"],
            task.GetProperty("history").EnumerateArray().Select(s => s.GetProperty("type").GetString()!).ToArray());

        // The feed follows the daemon's high-water mark: it reaches the claim's sequence (no gap holds it back)
        // and lists the task's events in order.
        var sequence = again.GetProperty("sequence").GetInt64();
        var page = await (await client.GetAsync($"/events?types=task.claimed.v1,task.lease-expired.v1&minSequence={sequence}")).Json();
        Assert.Equal(["task.claimed.v1", "task.lease-expired.v1", "task.claimed.v1"],
            page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("type").GetString()!).ToArray());

        // Every claim, the empty one too, has its audit record.
        var records = await client.AuditAsync("task.claim");
        Assert.Equal(3, records.Length);
        Assert.Contains(records, r => r.GetProperty("status").GetInt32() == 204 && r.GetProperty("reason").GetString() == "no task ready");
    }

    private sealed record Claimed(CommandContext Command, ClaimedTask? Claim);

    private async Task<Claimed> ClaimAsync(TenantKey key, string agent, bool throughSession)
    {
        var command = new CommandContext(key.KeyId.ToString(), key.Tenant, Guid.CreateVersion7(), "task.claim");
        var claim = await ClaimTaskHandler.ClaimAsync(new ClaimTask(agent, 60), command, Store, TimeProvider.System, throughSession,
            CancellationToken.None);
        return new Claimed(command, claim);
    }

    private async Task AssertDocumentIsTheProjectionsAsync(string tenant, Guid id)
    {
        await using var session = Store.QuerySession(tenant);
        var stored = await session.LoadAsync<AgentTask>(id);
        var folded = await session.Events.AggregateStreamAsync<AgentTask>(id);
        var serializer = Store.Options.Serializer();
        Assert.Equal(serializer.ToJson(folded), serializer.ToJson(stored));
    }

    // Columns of times against the document's: to the microsecond (PostgreSQL rounds the document's 100 ns text,
    // Npgsql truncates a parameter).
    private const string TaskSql = """
        select 'stream', jsonb_build_object('type', s.type, 'version', s.version, 'archived', s.is_archived, 'compacted', s.compacted_version,
                 'created=timestamp', s.created = s.timestamp)::text, 0
          from aetherra.mt_streams s where s.tenant_id = $1 and s.id = $2
        union all
        select 'event', jsonb_build_object('type', e.type, 'dotnet', e.mt_dotnet_type, 'bdata', e.bdata, 'version', e.version, 'tenant', e.tenant_id,
                 'correlation', e.correlation_id, 'user', e.user_name, 'archived', e.is_archived,
                 'data', e.data - 'taskId' - 'claimedAt' - 'leaseUntil', 'data keys', (select array_agg(k order by k) from jsonb_object_keys(e.data) k))::text,
               e.seq_id
          from aetherra.mt_events e where e.tenant_id = $1 and e.stream_id = $2 and e.type = 'task.claimed.v1'
        union all
        select 'document', jsonb_build_object('version', d.mt_version, 'dotnet', d.mt_dotnet_type, 'status', d.status, 'priority=data', d.priority = (d.data ->> 'priority')::int,
                 'lease_until=data', abs(extract(epoch from d.lease_until - (d.data ->> 'leaseUntil')::timestamptz)) <= 0.000001, 'claimed_by', d.claimed_by, 'agent', d.agent,
                 'not_before=data', abs(extract(epoch from d.not_before - (d.data ->> 'notBefore')::timestamptz)) <= 0.000001, 'sequence=data', d.sequence = (d.data ->> 'sequence')::bigint,
                 'data keys', (select array_agg(k order by k) from jsonb_object_keys(d.data) k),
                 'history', jsonb_path_query_array(d.data, '$.history[*].type'))::text, 0
          from aetherra.mt_doc_task_queue d where d.tenant_id = $1 and d.id = $2
        """;

    private const string AuditSql = """
        select 'stream', jsonb_build_object('type', s.type, 'version', s.version, 'archived', s.is_archived, 'compacted', s.compacted_version,
                 'created=timestamp', s.created = s.timestamp)::text, 0
          from aetherra.mt_streams s where s.tenant_id = $1 and s.id = $2
        union all
        select 'event', jsonb_build_object('type', e.type, 'dotnet', e.mt_dotnet_type, 'bdata', e.bdata, 'version', e.version, 'tenant', e.tenant_id,
                 'correlation=stream', e.correlation_id = e.stream_id::text, 'user', e.user_name, 'archived', e.is_archived,
                 'data', e.data - 'requestId' - 'target' - 'at')::text, e.seq_id
          from aetherra.mt_events e where e.tenant_id = $1 and e.stream_id = $2
        union all
        select 'document', jsonb_build_object('dotnet', d.mt_dotnet_type, 'version is uuid', d.mt_version is not null,
                 'data', d.data - 'id' - 'requestId' - 'target' - 'at' - 'sequence',
                 'sequence=event', (d.data ->> 'sequence')::bigint = (select e.seq_id from aetherra.mt_events e where e.tenant_id = d.tenant_id and e.stream_id = d.id))::text, 0
          from aetherra.mt_doc_auditentry d where d.tenant_id = $1 and d.id = $2
        """;

    private List<string> Rows(string sql, string tenant, Guid id)
    {
        using var db = fx.OpenDatabase();
        using var cmd = new NpgsqlCommand(sql, db);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = id });
        using var reader = cmd.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read()) rows.Add($"{reader.GetString(0)} seq={reader.GetInt64(2)}; {reader.GetString(1)}");
        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    /// <summary>The rows with what differs between two claims by design (sequences, ids) taken out.</summary>
    private static List<string> Masked(List<string> rows, Guid task, Claimed claimed) =>
        rows.Select(r => System.Text.RegularExpressions.Regex.Replace(r, @"seq=\d+;", "seq=*;")
            .Replace(task.ToString(), "<task>").Replace(claimed.Command.RequestId.ToString(), "<request>")).ToList();
}

using Aetherra.Application.Common;
using Aetherra.Application.Tasks;
using Aetherra.Domain;
using Aetherra.Infrastructure.Database;
using Aetherra.Integration.Tests.Decisions;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Aetherra.Integration.Tests.Tasks;

/// <summary>
/// Claims taken together in one transaction (ClaimBatch): each request gets a task of its own or "no task ready", each
/// has its own claim event and audit record, and a batch that fails hands out nothing. The batch is called directly,
/// so that it holds exactly the requests each test names (through HTTP, a batch is whatever arrived meanwhile).
/// </summary>
public sealed class TaskClaimBatchTests(AetherraFixture fx)
{
    private IDocumentStore Store => fx.Host.Services.GetRequiredService<IDocumentStore>();
    private ClaimConnections Pools => fx.Host.Services.GetRequiredService<ClaimConnections>();

    [Fact]
    public async Task a_batch_hands_each_request_a_task_of_its_own_in_the_queues_order_and_the_rest_no_task_ready_each_with_its_audit_record()
    {
        var key = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var client = fx.Client(key.Key);
        var low = await client.CreateTaskAsync(new { title = "low", priority = 1 });
        var high = await client.CreateTaskAsync(new { title = "high", priority = 9 });
        var mid = await client.CreateTaskAsync(new { title = "mid", priority = 5 });

        var requests = Enumerable.Range(0, 5).Select(n => Request(key, $"agent-{n}")).ToList();
        var turns = await ClaimBatch.ClaimTogetherAsync(requests, Store, TimeProvider.System, Pools, CancellationToken.None);

        Assert.All(turns, t => Assert.Equal(ClaimTurn.Done, t));
        // In the requests' order, the queue's order: highest priority first.
        Assert.Equal([high, mid, low], requests.Take(3).Select(r => r.Result!.Id));
        Assert.Equal([1, 1, 1], requests.Take(3).Select(r => r.Result!.Attempt));
        Assert.All(requests.Skip(3), r => Assert.Null(r.Result));
        Assert.All(requests, r => Assert.True(r.Command.Audited));
        // Every answer's sequence is its own audit record's, all distinct.
        Assert.Equal(3, requests.Take(3).Select(r => r.Result!.Sequence).Distinct().Count());

        var records = await client.AuditAsync("task.claim");
        Assert.Equal(requests.Select(r => r.Command.RequestId).Order(), records.Select(r => r.GetProperty("requestId").GetGuid()).Order());
        Assert.Equal(3, records.Count(r => r.GetProperty("status").GetInt32() == 200));
        Assert.Equal(2, records.Count(r => r.GetProperty("status").GetInt32() == 204 && r.GetProperty("reason").GetString() == "no task ready"));
        Assert.Equal(new Dictionary<Guid, int> { [high] = 1, [mid] = 1, [low] = 1 }, fx.ClaimEvents(key.Tenant));
        foreach (var r in requests.Take(3))
        {
            var task = await client.GetOkAsync($"/tasks/{r.Result!.Id}");
            Assert.Equal("claimed", task.Str("status"));
            Assert.Equal(r.Agent, task.Str("claimedBy"));
        }
        Assert.Null(await client.ClaimAsync("late"));
    }

    [Fact]
    public async Task a_batch_gives_an_agents_own_task_only_to_it_and_refuses_a_suspended_agent_while_the_others_claim()
    {
        var key = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var client = fx.Client(key.Key);
        await client.PostAsync("/agents", new { name = "benched" }, HttpStatusCode.Created);
        await client.PostAsync("/agents/benched/suspend", new { reason = "test" });
        var theirs = await client.CreateTaskAsync(new { title = "for b", priority = 9, agent = "b" });
        var anyone = await client.CreateTaskAsync(new { title = "for anyone", priority = 1 });

        var a = Request(key, "a");
        var benched = Request(key, "benched");
        var b = Request(key, "b");
        var turns = await ClaimBatch.ClaimTogetherAsync([a, benched, b], Store, TimeProvider.System, Pools, CancellationToken.None);

        Assert.All(turns, t => Assert.Equal(ClaimTurn.Done, t));
        Assert.Equal(anyone, a.Result!.Id);
        Assert.Equal(theirs, b.Result!.Id);
        var refusal = await Assert.ThrowsAsync<DomainRuleViolated>(() => benched.Outcome);
        Assert.Contains("suspended", refusal.Message);
        Assert.False(benched.Command.Audited);
        Assert.Equal(2, (await client.AuditAsync("task.claim")).Length);
    }

    [Fact]
    public async Task a_batch_that_fails_hands_out_nothing_and_its_tasks_stay_in_the_queue()
    {
        var key = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var client = fx.Client(key.Key);
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++) ids.Add(await client.CreateTaskAsync(new { title = $"job {i}", priority = i }));

        // The third request reuses a request id whose audit stream exists: its stream row fails the batch at the writes,
        // after the queue query locked all three tasks for the batch.
        var first = Request(key, "one");
        Assert.Equal(ClaimTurn.Done, (await ClaimBatch.ClaimTogetherAsync([first, Request(key, "two")], Store, TimeProvider.System, Pools,
            CancellationToken.None)).Distinct().Single());
        var claimedBefore = fx.ClaimEvents(key.Tenant);
        Assert.Equal(2, claimedBefore.Count);

        var requests = new[] { Request(key, "three"), Request(key, "four"),
            new PendingClaim(new ClaimTask("five", 60), new CommandContext(key.KeyId.ToString(), key.Tenant, first.Command.RequestId, "task.claim"), CancellationToken.None) };
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ClaimBatch.ClaimTogetherAsync(requests, Store, TimeProvider.System, Pools, CancellationToken.None));

        Assert.All(requests, r => Assert.Null(r.Result));
        Assert.All(requests.Take(2), r => Assert.False(r.Command.Audited));
        Assert.Equal(claimedBefore, fx.ClaimEvents(key.Tenant));
        var left = ids.Single(id => !claimedBefore.ContainsKey(id));
        Assert.Equal("queued", (await client.GetOkAsync($"/tasks/{left}")).Str("status"));
        Assert.Equal(2, (await client.AuditAsync("task.claim")).Length);
        // Nothing stays locked: the next claim gets the task.
        Assert.Equal(left, (await client.ClaimAsync("six"))!.Value.Id());
        // The failed batch took four sequences (three requests, one task left to lock) and committed none: each is a
        // tombstone now, so the daemon's high-water mark does not stand at a gap. The batch before and the claim
        // after used every sequence they took.
        var (count, distinct) = TombstoneRows(key.Tenant);
        Assert.Equal(4, count);
        Assert.Equal(4, distinct);
    }

    [Fact]
    public async Task a_request_the_batch_cannot_serve_because_its_walk_was_full_is_sent_alone()
    {
        var key = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var client = fx.Client(key.Key);
        // Two tasks for agent a fill the batch's two-row walk; b may take the third, below them in the queue.
        await client.CreateTaskAsync(new { title = "a1", priority = 9, agent = "a" });
        await client.CreateTaskAsync(new { title = "a2", priority = 8, agent = "a" });
        var forAnyone = await client.CreateTaskAsync(new { title = "anyone", priority = 1 });

        var a = Request(key, "a");
        var b = Request(key, "b");
        var turns = await ClaimBatch.ClaimTogetherAsync([a, b], Store, TimeProvider.System, Pools, CancellationToken.None);

        Assert.Equal([ClaimTurn.Done, ClaimTurn.Alone], turns);
        Assert.NotNull(a.Result);
        Assert.Null(b.Result);
        Assert.False(b.Command.Audited);
        // Alone, it claims what the batch's walk did not reach.
        Assert.Equal(forAnyone, (await client.ClaimAsync("b"))!.Value.Id());
        // The batch took four sequences (an audit record per request, a claim per locked row) and used two (a's claim
        // and its record): the other two are tombstones, written in the batch's own transaction.
        Assert.Equal((2, 2), TombstoneRows(key.Tenant));
    }

    private static PendingClaim Request(TenantKey key, string agent) =>
        new(new ClaimTask(agent, 60), new CommandContext(key.KeyId.ToString(), key.Tenant, Guid.CreateVersion7(), "task.claim"), CancellationToken.None);

    /// <summary>
    /// The tenant's tombstones in the event store (Marten's rows for sequences taken and not used, each its sequence as
    /// its version): how many, and over how many distinct sequences.
    /// </summary>
    private (int Count, int Distinct) TombstoneRows(string tenant)
    {
        using var db = fx.OpenDatabase();
        using var cmd = new NpgsqlCommand("""
            select count(*)::int, count(distinct t.seq_id)::int
            from aetherra.mt_events t where t.tenant_id = $1 and t.type = 'tombstone' and t.version = t.seq_id
            """, db);
        cmd.Parameters.Add(new() { Value = tenant });
        using var reader = cmd.ExecuteReader();
        reader.Read();
        return (reader.GetInt32(0), reader.GetInt32(1));
    }
}

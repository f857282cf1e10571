using Aetherra.Application.Tasks;
using Aetherra.Integration.Tests.Decisions;
using Microsoft.Extensions.DependencyInjection;

namespace Aetherra.Integration.Tests.Tasks;

/// <summary>
/// The queue query's plan as the server runs it: Npgsql prepares it, and after a few executions PostgreSQL may keep
/// one generic plan for every claim. That plan must not pass over each claimed task on every claim (with an index over
/// every task's priority, the expired-lease walk did).
/// </summary>
public sealed class TaskQueuePlanTests(AetherraFixture fx)
{
    [Fact]
    public async Task the_queue_querys_generic_plan_reads_few_buffers_with_claimed_tasks_piled_up()
    {
        var tenant = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var client = fx.Client(tenant.Key);
        for (var i = 0; i < 90; i++) await client.CreateTaskAsync(new { title = $"task {i}", priority = i % 10 });
        for (var i = 0; i < 80; i++) Assert.NotNull(await client.ClaimAsync("worker", leaseSeconds: 3600));

        await using var connection = fx.OpenDatabase();
        await using (var setup = new Npgsql.NpgsqlCommand(
            "set plan_cache_mode = force_generic_plan; analyze aetherra.mt_doc_task_queue; " +
            $"prepare next_task(text, text, timestamptz, uuid[], uuid, int, int) as {TaskQueue.Sql}", connection))
            await setup.ExecuteNonQueryAsync();
        // EXPLAIN takes no bind parameters: the tenant (a generated name) as a literal.
        var plan = await PlanAsync(connection,
            $"execute next_task('{tenant.Tenant.Replace("'", "''")}', 'worker', now(), '{{}}', gen_random_uuid(), 0, 0)");

        // No sequential scan of the task table that ran, and no index walked past the claimed tasks (an index over every
        // task's priority let the expired-lease walk do that: a buffer or more per claimed task). Other tables may be
        // scanned: after the rest of the suite the agents' table is a page or two, which PostgreSQL reads whole.
        AssertNoTaskTableScan(plan, "the queue query");
        // One ready row locked, no expired lease: a few index and heap pages, not one per claimed task (80 here).
        var buffers = plan.GetProperty("Shared Hit Blocks").GetInt32() + plan.GetProperty("Shared Read Blocks").GetInt32();
        Assert.True(buffers is >= 1 and <= 60, $"{buffers} buffers read:\n{plan}");
    }

    [Fact]
    public async Task the_status_index_leaves_the_claimed_tasks_to_the_leased_index_and_claims_run_generic_plans()
    {
        // Over the claimed tasks too, the status index won the expired-lease walk on statistics taken while the tasks
        // were queued (every lease_until null), and the walk read every claimed task to lock none.
        await using (var connection = fx.OpenDatabase())
        {
            await using var cmd = new Npgsql.NpgsqlCommand(
                $"select indexdef from pg_indexes where schemaname = 'aetherra' and indexname = 'mt_doc_{TaskConfiguration.Alias}_idx_status'", connection);
            var definition = (string)(await cmd.ExecuteScalarAsync())!;
            Assert.Contains("WHERE ((status)::text <> 'Claimed'::text)", definition);
        }

        // The claim's own pool: generic plans (left to choose, PostgreSQL planned the queue query at almost every claim).
        var tenant = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var pools = fx.Host.Services.GetRequiredService<Aetherra.Infrastructure.Database.ClaimConnections>();
        await using var claim = await pools.For(tenant.Tenant).OpenConnectionAsync();
        await using var show = new Npgsql.NpgsqlCommand("show plan_cache_mode", claim);
        Assert.Equal("force_generic_plan", (string)(await show.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task the_batch_queue_querys_generic_plan_reads_few_buffers()
    {
        var tenant = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var client = fx.Client(tenant.Key);
        for (var i = 0; i < 90; i++) await client.CreateTaskAsync(new { title = $"task {i}", priority = i % 10 });
        for (var i = 0; i < 80; i++) Assert.NotNull(await client.ClaimAsync("worker", leaseSeconds: 3600));

        await using var connection = fx.OpenDatabase();
        await using (var indexes = new Npgsql.NpgsqlCommand(
            $"select count(*) from pg_indexes where schemaname = 'aetherra' and tablename = 'mt_doc_{TaskConfiguration.Alias}' and indexdef like '%(not_before)%'",
            connection))
            Assert.Equal(Aetherra.Infrastructure.MeasurementSwitches.ClaimNotBeforeIndexDropped ? 0L : 1L, (long)(await indexes.ExecuteScalarAsync())!);

        await using (var setup = new Npgsql.NpgsqlCommand(
            "set plan_cache_mode = force_generic_plan; analyze aetherra.mt_doc_task_queue; " +
            $"prepare next_tasks(text, text[], timestamptz, uuid[], int) as {NoSequences(TaskQueue.BatchQuery)}", connection))
            await setup.ExecuteNonQueryAsync();
        var plan = await PlanAsync(connection,
            $"execute next_tasks('{tenant.Tenant.Replace("'", "''")}', " +
            "array['worker', 'other', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'], now(), " +
            "array[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()], 8)");
        AssertNoTaskTableScan(plan, "the batch queue query");
        // Eight ready rows locked (the ten left), no expired lease: index and heap pages for those, not one per claimed task.
        var buffers = plan.GetProperty("Shared Hit Blocks").GetInt32() + plan.GetProperty("Shared Read Blocks").GetInt32();
        Assert.True(buffers is >= 1 and <= 120, $"{buffers} buffers read:\n{plan}");
    }

    /// <summary>
    /// The query with its sequences left untaken: run by EXPLAIN ANALYZE, nextval would leave a gap in the store's
    /// sequence, which holds the daemon's high-water mark back for seconds (and other tests' waits on it).
    /// </summary>
    private static string NoSequences(string sql) =>
        sql.Contains("nextval('aetherra.mt_events_sequence')", StringComparison.Ordinal)
            ? sql.Replace("nextval('aetherra.mt_events_sequence')", "0::bigint")
            : throw new InvalidOperationException("the batch query no longer takes its sequences by that name");

    /// <summary>EXPLAIN (ANALYZE, BUFFERS) of <paramref name="statement"/> in a transaction rolled back after: its plan's root.</summary>
    private static async Task<JsonElement> PlanAsync(Npgsql.NpgsqlConnection connection, string statement)
    {
        await using var tx = await connection.BeginTransactionAsync();
        await using var explain = new Npgsql.NpgsqlCommand($"explain (analyze, buffers, format json) {statement}", connection, tx);
        var plan = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!).RootElement[0].GetProperty("Plan");
        await tx.RollbackAsync();
        return plan;
    }

    /// <summary>No sequential scan of the task table ran in <paramref name="plan"/>.</summary>
    private static void AssertNoTaskTableScan(JsonElement plan, string what)
    {
        var scans = Nodes(plan).Where(n => n.GetProperty("Node Type").GetString() == "Seq Scan"
            && n.TryGetProperty("Relation Name", out var r) && r.GetString() == $"mt_doc_{TaskConfiguration.Alias}"
            && n.GetProperty("Actual Loops").GetInt64() > 0).ToList();
        Assert.True(scans.Count == 0, $"{what} scanned the task table:\n{plan}");
    }

    private static IEnumerable<JsonElement> Nodes(JsonElement node)
    {
        yield return node;
        if (node.TryGetProperty("Plans", out var children))
            foreach (var child in children.EnumerateArray())
                foreach (var n in Nodes(child)) yield return n;
    }

}

using Aetherra.Application.Recall;
using Npgsql;

namespace Aetherra.Integration.Tests;

/// <summary>
/// A bulk load is analysed for the planner by the recall projection itself, not a minute later by autovacuum: a
/// recall planned from the statistics of a far smaller table re-read the term statistics once per match and timed out.
/// </summary>
public sealed class RecallPlannerStatisticsTests(AetherraFixture fx)
{
    [Fact]
    public async Task the_projection_analyses_its_tables_once_enough_rows_have_been_loaded()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await fx.NewDatabaseAsync();
        await using var server = await ServerProcess.StartAsync(AetherraFixture.ApiDll(), database,
            Directory.CreateTempSubdirectory("aetherra-server-").FullName, ct,
            new Dictionary<string, string> { ["AETHERRA_RECALL_ANALYZE_ROWS"] = "40", ["AETHERRA_EMBEDDINGS"] = "off" });
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            await server.NewKeyAsync("loader", "planner-tenant", ["memory:read", "memory:write"], ct));

        // Below the threshold: recall has the rows, and no one has analysed the table by hand.
        var (_, few) = await client.RecordBatchAsync(Enumerable.Range(0, 10).Select(i => Api.Memory($"Ada noted fact number {i} about tea", subject: "ada")));
        Assert.NotEmpty(await client.RecallAsync(new { query = "tea", subject = "ada", minSequence = few }));
        Assert.Null(await LastAnalyzeAsync(database, "recall_entries", ct));

        var (_, many) = await client.RecordBatchAsync(Enumerable.Range(10, 40).Select(i => Api.Memory($"Ada noted fact number {i} about tea", subject: "ada")));
        Assert.NotEmpty(await client.RecallAsync(new { query = "tea", subject = "ada", minSequence = many }));
        // Analysed in the projection's own batch (autovacuum would set last_autoanalyze instead).
        foreach (var table in new[] { "recall_entries", "recall_terms", "recall_subjects" })
            Assert.NotNull(await LastAnalyzeAsync(database, table, ct));
    }

    [Fact]
    public void analyses_come_after_the_first_rows_then_each_time_the_table_has_doubled()
    {
        var planner = new PlannerStatistics(100);
        Assert.False(planner.Due("t", 60));
        Assert.True(planner.Due("t", 40));      // 100 rows
        Assert.False(planner.Due("t", 99));     // 199: not yet 100 more than at the last analysis
        Assert.True(planner.Due("t", 1));       // 200
        Assert.False(planner.Due("t", 150));    // 350
        Assert.True(planner.Due("t", 50));      // 400
        Assert.False(planner.Due("other", 99)); // each table counts for itself
        Assert.False(planner.Due("t", 0));
    }

    private static async Task<DateTime?> LastAnalyzeAsync(string database, string table, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand(
            "select last_analyze from pg_stat_user_tables where schemaname = 'aetherra' and relname = $1", connection);
        cmd.Parameters.Add(new() { Value = table });
        return await cmd.ExecuteScalarAsync(ct) is DateTime at ? at : null;
    }
}

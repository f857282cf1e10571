using Aetherra.Application.Common;
using Aetherra.Application.Plugins;
using Marten;
using Microsoft.AspNetCore.Http;

namespace Aetherra.Integration.Tests.Plugins;

public sealed class PluginAnalyticsTests(AetherraFixture fx)
{
    /// <summary>Nearest rank, as the projection computes it: the smallest duration with at least p of them at or below it.</summary>
    private static double NearestRank(IReadOnlyList<double> durations, double p)
    {
        var sorted = durations.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count), 1, sorted.Count) - 1];
    }

    private async Task<List<(string Capability, double DurationMs, bool Failed)>> RecordedCallsAsync(string tenant, string pluginId)
    {
        using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand("""
            select data->>'capability', (data->>'durationMs')::float8, type = 'plugin.invocation-failed.v1'
            from aetherra.mt_events
            where tenant_id = @tenant and data->>'pluginId' = @id and type like 'plugin.invocation-%' order by seq_id
            """, db);
        cmd.Parameters.AddWithValue("tenant", tenant);
        cmd.Parameters.AddWithValue("id", pluginId);
        var calls = new List<(string, double, bool)>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) calls.Add((reader.GetString(0), reader.GetDouble(1), reader.GetBoolean(2)));
        return calls;
    }

    [Fact]
    public async Task the_figures_match_the_calls_made_overall_and_per_capability()
    {
        var failNext = 0;
        await using var server = await PluginServer.StartAsync(async context =>
        {
            using var request = await JsonDocument.ParseAsync(context.Request.Body);
            if (request.RootElement.GetProperty("input").GetProperty("fail").GetBoolean())
            {
                Interlocked.Increment(ref failNext);
                context.Response.StatusCode = 503;
                return;
            }
            await context.Response.WriteAsJsonAsync(new { output = "ok" });
        });
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint, "echo", "shout");
        var client = fx.Client(admin.Key);
        long sequence = 0;
        foreach (var (capability, fail) in new[] { ("echo", false), ("echo", false), ("shout", false), ("echo", true), ("shout", false), ("echo", false), ("shout", true) })
        {
            var response = await client.InvokeAsync(id, capability, new { fail });
            Assert.Equal(fail ? HttpStatusCode.BadGateway : HttpStatusCode.OK, response.StatusCode);
            sequence = (await response.Json()).GetProperty("sequence").GetInt64();
        }

        var list = await client.GetConsistentAsync($"/plugins?minSequence={sequence}");

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var calls = await RecordedCallsAsync(admin.Tenant, id);
        Assert.Equal(7, calls.Count);
        var item = Assert.Single((await list.Json()).GetProperty("items").EnumerateArray());
        Assert.Equal(7, item.GetProperty("invocations").GetInt64());
        Assert.Equal(5.0 / 7, item.GetProperty("successRate").GetDouble(), 9);
        Assert.Equal(NearestRank(calls.Select(c => c.DurationMs).ToList(), 0.50), item.GetProperty("p50Ms").GetDouble(), 9);
        Assert.Equal(NearestRank(calls.Select(c => c.DurationMs).ToList(), 0.95), item.GetProperty("p95Ms").GetDouble(), 9);
        Assert.Contains("503", item.GetProperty("lastError").GetString());

        var detail = await (await client.GetAsync($"/plugins/{id}")).Json();
        var byCapability = detail.GetProperty("capabilities").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        foreach (var (capability, count, successes) in new[] { ("echo", 4, 3), ("shout", 3, 2) })
        {
            var figures = byCapability[capability];
            var durations = calls.Where(c => c.Capability == capability).Select(c => c.DurationMs).ToList();
            Assert.Equal(count, figures.GetProperty("invocations").GetInt64());
            Assert.Equal((double)successes / count, figures.GetProperty("successRate").GetDouble(), 9);
            Assert.Equal(NearestRank(durations, 0.50), figures.GetProperty("p50Ms").GetDouble(), 9);
            Assert.Equal(NearestRank(durations, 0.95), figures.GetProperty("p95Ms").GetDouble(), 9);
        }
        Assert.Equal(2, failNext);
    }

    [Fact]
    public async Task the_health_query_gives_homeostasis_the_recent_failure_rate_per_tenant_and_plugin()
    {
        var calls = 0;
        await using var server = await PluginServer.StartAsync(async context =>
        {
            if (Interlocked.Increment(ref calls) % 2 == 0)
            {
                context.Response.StatusCode = 500;
                return;
            }
            await context.Response.WriteAsJsonAsync(new { output = 1 });
        });
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        var client = fx.Client(admin.Key);
        long sequence = 0;
        for (var i = 0; i < 4; i++)
            sequence = (await (await client.InvokeAsync(id)).Json()).GetProperty("sequence").GetInt64();
        await fx.WaitForProjectionAsync(PluginAnalyticsProjection.ProjectionName, sequence);

        var all = await PluginHealthQuery.ReadAsync(fx.Host.Services.GetRequiredService<IDocumentStore>(), null, CancellationToken.None);
        var mine = await PluginHealthQuery.ReadAsync(fx.Host.Services.GetRequiredService<IDocumentStore>(), admin.Tenant, CancellationToken.None);

        var health = Assert.Single(all, h => h.Tenant == admin.Tenant && h.PluginId == id);
        Assert.Equal(4, health.Invocations);
        Assert.Equal(4, health.RecentInvocations);
        Assert.Equal(0.5, health.RecentFailureRate, 9);
        Assert.Equal("enabled", health.Status);
        Assert.Equal(health, Assert.Single(mine));
    }

    [Fact]
    public async Task homeostasis_can_disable_a_plugin_outside_http_with_the_same_events_and_audit()
    {
        await using var server = await PluginServer.EchoAsync();
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        var command = new CommandContext("homeostasis", admin.Tenant, Guid.CreateVersion7(), PluginActions.Disable);

        var result = await DisablePluginHandler.Handle(id, new PluginReason("error rate 50% over the last 4 calls"), command,
            fx.Host.Services.GetRequiredService<IDocumentStore>(), TimeProvider.System, CancellationToken.None);

        Assert.Equal("disabled", result.Status);
        var client = fx.Client(admin.Key);
        var detail = await (await client.GetAsync($"/plugins/{id}")).Json();
        Assert.Equal("disabled", detail.GetProperty("status").GetString());
        Assert.Equal("error rate 50% over the last 4 calls", detail.GetProperty("statusReason").GetString());
        var record = Assert.Single(await client.AuditAsync(PluginActions.Disable));
        Assert.Equal("homeostasis", record.GetProperty("actor").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await client.InvokeAsync(id)).StatusCode);
    }
}

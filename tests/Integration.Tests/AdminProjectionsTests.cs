namespace Aetherra.Integration.Tests;

public sealed class AdminProjectionsTests(AetherraFixture fx)
{
    [Fact]
    public async Task the_projection_list_shows_inline_and_async_read_models_and_where_they_are()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write");
        var client = fx.Client(key.Key);
        var (_, sequence) = await client.RecordAsync(Api.Memory("Jan keeps bees"));
        await client.RecallAsync(new { query = "bees", minSequence = sequence });

        var list = (await (await fx.Client(fx.AdminKey).GetAsync("/admin/projections")).Json()).EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!);

        Assert.Equal("inline", list["Memory"].GetProperty("lifecycle").GetString());
        Assert.Equal("inline", list["AuditIndex"].GetProperty("lifecycle").GetString());
        var recallEntry = list["RecallEntry"];
        Assert.Equal("async", recallEntry.GetProperty("lifecycle").GetString());
        Assert.True(recallEntry.GetProperty("position").GetInt64() >= sequence);
        Assert.True(recallEntry.GetProperty("lag").GetInt64() >= 0);
    }

    [Fact]
    public async Task status_reports_the_event_store()
    {
        var key = await fx.NewTenantAsync("memory:write");
        var (_, sequence) = await fx.Client(key.Key).RecordAsync(Api.Memory("Kim rows at dawn"));

        var status = await (await fx.Client(fx.AdminKey).GetAsync("/admin/status")).Json();

        Assert.Equal("ready", status.GetProperty("bootPhase").GetString());
        var store = status.GetProperty("eventStore");
        Assert.True(store.GetProperty("events").GetInt64() >= 2);
        Assert.True(store.GetProperty("streams").GetInt64() >= 2);
        Assert.False(string.IsNullOrEmpty(status.GetProperty("node").GetString()));
        Assert.True(sequence > 0);
    }

    /// <summary>Issue 13: uptime counted from the first status call, not from the start of the process.</summary>
    [Fact]
    public async Task uptime_counts_from_the_start_of_the_process()
    {
        var started = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();

        var status = await (await fx.Client(fx.AdminKey).GetAsync("/admin/status")).Json();

        var expected = (DateTime.UtcNow - started).TotalSeconds;
        var uptime = status.GetProperty("uptimeSeconds").GetInt64();
        Assert.InRange(uptime, expected - 3, expected + 1);
    }

    [Fact]
    public async Task projection_operations_need_the_operator_scope()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write", "audit:read");
        var client = fx.Client(key.Key);

        await (await client.GetAsync("/admin/projections")).AssertProblem(HttpStatusCode.Forbidden);
        await (await client.GetAsync("/admin/status")).AssertProblem(HttpStatusCode.Forbidden);
        await (await client.PostAsJsonAsync("/admin/projections/RecallEntry/rebuild", new { })).AssertProblem(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task an_inline_projection_is_not_rebuilt_and_an_unknown_one_is_not_found()
    {
        var admin = fx.Client(fx.AdminKey);

        await (await admin.PostAsJsonAsync("/admin/projections/Memory/rebuild", new { })).AssertProblem(HttpStatusCode.UnprocessableEntity);
        await (await admin.PostAsJsonAsync("/admin/projections/NoSuchThing/rebuild", new { })).AssertProblem(HttpStatusCode.NotFound);
    }
}

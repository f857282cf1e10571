namespace Aetherra.Integration.Tests;

public sealed class MemoryLifecycleTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_recorded_memory_reads_back_with_its_fields_and_a_sequence()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);

        var response = await client.PostAsJsonAsync("/memories", Api.Memory("Alice prefers green tea", kind: "preference", tags: ["drink"]));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Json();
        Assert.False(created.GetProperty("deduplicated").GetBoolean());
        Assert.Equal(1, created.GetProperty("version").GetInt32());
        Assert.True(created.GetProperty("sequence").GetInt64() > 0);
        Assert.Equal(64, created.GetProperty("contentHash").GetString()!.Length);

        var id = created.GetProperty("id").GetGuid();
        var read = await (await client.GetAsync($"/memories/{id}?minSequence={created.GetProperty("sequence").GetInt64()}")).Json();
        Assert.Equal("Alice prefers green tea", read.GetProperty("content").GetString());
        Assert.Equal("preference", read.GetProperty("kind").GetString());
        Assert.Equal("internal", read.GetProperty("classification").GetString());
        Assert.Equal("active", read.GetProperty("status").GetString());
        Assert.Equal(0.5, read.GetProperty("importance").GetDouble());
        Assert.Equal(["drink"], read.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ToArray());
    }

    [Fact]
    public async Task the_same_content_for_the_same_subject_and_agent_returns_the_first_id_and_appends_no_memory()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (first, _) = await client.RecordAsync(Api.Memory("Bob   is allergic to peanuts"));

        var again = await client.PostAsJsonAsync("/memories", Api.Memory("Bob is allergic to peanuts"));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var body = await again.Json();
        Assert.True(body.GetProperty("deduplicated").GetBoolean());
        Assert.Equal(first, body.GetProperty("id").GetGuid());
        await using var db = fx.OpenDatabase();
        await using var count = new Npgsql.NpgsqlCommand(
            "select count(*) from aetherra.mt_events where tenant_id = $1 and type = 'memory.recorded.v1'", db)
        { Parameters = { new() { Value = key.Tenant } } };
        Assert.Equal(1L, (long)(await count.ExecuteScalarAsync())!);
    }
}

namespace Aetherra.Integration.Tests;

/// <summary>Memories of a batch are copied in, not appended one by one: they must be streams like any other.</summary>
public sealed class MemoryBatchStreamsTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_memory_recorded_in_a_batch_reads_revises_and_has_the_history_of_any_other()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var response = await client.PostAsJsonAsync("/memories/batch", new
        {
            memories = new[] { Api.Memory("Lena plays the cello", subject: "lena"), Api.Memory("Lena lives in Ghent", subject: "lena") }
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Json();
        var id = body.GetProperty("results")[1].GetProperty("id").GetGuid();

        var read = await (await client.GetAsync($"/memories/{id}")).Json();
        Assert.Equal("Lena lives in Ghent", read.GetProperty("content").GetString());
        Assert.Equal(1, read.GetProperty("version").GetInt32());

        var revised = await client.PutAsJsonAsync($"/memories/{id}", new { content = "Lena lives in Bruges", reason = "moved", expectedVersion = 1 });
        Assert.Equal(HttpStatusCode.OK, revised.StatusCode);
        Assert.Equal(2, (await revised.Json()).GetProperty("version").GetInt32());

        var history = (await (await client.GetAsync($"/memories/{id}/history")).Json()).EnumerateArray().ToList();
        Assert.Equal(["memory.recorded.v1", "memory.revised.v1"], history.Select(h => h.GetProperty("type").GetString()).ToArray());
        Assert.All(history, h => Assert.Equal(key.KeyId.ToString(), h.GetProperty("actor").GetString()));
    }

    [Fact]
    public async Task the_answered_sequence_of_a_batch_is_its_last_event_and_its_events_carry_the_request_id()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var response = await client.PostAsJsonAsync("/memories/batch", new
        {
            memories = Enumerable.Range(0, 5).Select(i => Api.Memory($"fact number {i}", subject: "mika")).ToArray()
        });
        var sequence = (await response.Json()).GetProperty("sequence").GetInt64();
        var requestId = Assert.Single(response.Headers.GetValues("X-Request-Id"));

        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand(
            "select max(seq_id), count(*) filter (where type = 'memory.recorded.v1'), count(*) filter (where correlation_id = $2) from aetherra.mt_events where tenant_id = $1", db)
        { Parameters = { new() { Value = key.Tenant }, new() { Value = requestId } } };
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(sequence, reader.GetInt64(0));
        Assert.Equal(5L, reader.GetInt64(1));
        Assert.Equal(6L, reader.GetInt64(2));
    }

    [Fact]
    public async Task a_batch_writes_the_bookkeeping_columns_a_single_write_does()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var single = (await (await client.PostAsJsonAsync("/memories", Api.Memory("Noor keeps bees", subject: "noor"))).Json()).GetProperty("id").GetGuid();
        var batch = (await (await client.PostAsJsonAsync("/memories/batch", new
        {
            memories = new[] { Api.Memory("Noor sells honey", subject: "noor"), Api.Memory("Noor lives in Leiden", subject: "noor") }
        })).Json()).GetProperty("results")[0].GetProperty("id").GetGuid();

        await using var db = fx.OpenDatabase();
        async Task<(string Event, string Document)> TypesOf(Guid id)
        {
            await using var cmd = new Npgsql.NpgsqlCommand("""
                select e.mt_dotnet_type, d.mt_dotnet_type from aetherra.mt_events e
                join aetherra.mt_doc_memory d on d.tenant_id = e.tenant_id and d.id = e.stream_id
                where e.tenant_id = $1 and e.stream_id = $2
                """, db) { Parameters = { new() { Value = key.Tenant }, new() { Value = id } } };
            await using var reader = await cmd.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            return (reader.GetString(0), reader.GetString(1));
        }
        Assert.Equal(await TypesOf(single), await TypesOf(batch));
    }
}

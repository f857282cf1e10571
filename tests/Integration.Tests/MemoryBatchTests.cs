using Npgsql;

namespace Aetherra.Integration.Tests;

public sealed class MemoryBatchTests(AetherraFixture fx)
{
    private static async Task<(Guid Id, bool Deduplicated)[]> ResultsOf(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Json()).GetProperty("results").EnumerateArray()
            .Select(r => (r.GetProperty("id").GetGuid(), r.GetProperty("deduplicated").GetBoolean())).ToArray();
    }

    [Fact]
    public async Task a_batch_records_every_memory_in_order_under_one_sequence()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        string[] contents = ["Olga reads sci-fi", "Olga hates mornings", "Olga moved to Oslo"];

        var response = await client.PostAsJsonAsync("/memories/batch", new { memories = contents.Select(c => Api.Memory(c, subject: "olga")) });

        var results = await ResultsOf(response);
        var sequence = (await response.Json()).GetProperty("sequence").GetInt64();
        Assert.Equal(3, results.Length);
        Assert.All(results, r => Assert.False(r.Deduplicated));
        Assert.Equal(3, results.Select(r => r.Id).Distinct().Count());
        for (var i = 0; i < contents.Length; i++)
            Assert.Equal(contents[i], (await client.ReadMemoryAsync(results[i].Id)).GetProperty("content").GetString());

        // One transaction: the answer's sequence is the last event the batch wrote, and every memory is at or below it.
        await using var db = fx.OpenDatabase();
        await using var sequences = new NpgsqlCommand(
            "select max(seq_id), max(seq_id) filter (where type = 'memory.recorded.v1') from aetherra.mt_events where tenant_id = $1", db)
        {
            Parameters = { new() { Value = key.Tenant } }
        };
        await using var reader = await sequences.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(sequence, reader.GetInt64(0));
        Assert.True(reader.GetInt64(1) <= sequence);
    }

    [Fact]
    public async Task a_batch_answers_an_existing_memory_and_an_in_batch_repeat_as_deduplicated()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (existing, _) = await client.RecordAsync(Api.Memory("Pete plays chess"));

        var response = await client.PostAsJsonAsync("/memories/batch", new
        {
            memories = new[] { Api.Memory("Pete  plays chess"), Api.Memory("Pete collects stamps"), Api.Memory("Pete collects   stamps") }
        });

        var results = await ResultsOf(response);
        Assert.Equal((existing, true), results[0]);
        Assert.False(results[1].Deduplicated);
        Assert.NotEqual(existing, results[1].Id);
        Assert.Equal((results[1].Id, true), results[2]);
        Assert.Equal(2, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task a_batch_of_1000_memories_is_accepted()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostAsJsonAsync("/memories/batch",
            new { memories = Enumerable.Range(0, 1000).Select(i => Api.Memory($"fact number {i}", subject: $"s{i % 7}")) });

        var results = await ResultsOf(response);
        Assert.Equal(1000, results.Select(r => r.Id).Distinct().Count());
        Assert.Equal(1000, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task a_batch_of_1001_memories_is_refused_and_nothing_is_recorded()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostAsJsonAsync("/memories/batch",
            new { memories = Enumerable.Range(0, 1001).Select(i => Api.Memory($"fact number {i}")) });

        await response.AssertValidationErrorAsync("memories");
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task an_empty_batch_is_refused()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostAsJsonAsync("/memories/batch", new { memories = Array.Empty<object>() });

        await response.AssertValidationErrorAsync("memories");
    }

    [Fact]
    public async Task a_batch_without_memories_is_refused()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostRawAsync("/memories/batch", "{}");

        await response.AssertValidationErrorAsync("memories");
    }

    [Fact]
    public async Task a_batch_with_one_invalid_memory_is_refused_whole_with_the_item_named()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostAsJsonAsync("/memories/batch", new
        {
            memories = new[] { Api.Memory("Quinn is tall"), Api.Memory(""), Api.Memory("Quinn is kind") }
        });

        await response.AssertValidationErrorAsync("memories[1].content");
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task a_null_item_in_a_batch_is_refused_with_the_item_named()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostRawAsync("/memories/batch",
            "{\"memories\": [{\"content\": \"x\", \"subject\": \"s\", \"agent\": \"a\", \"kind\": \"fact\"}, null]}");

        await response.AssertValidationErrorAsync("memories[1]");
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }
}

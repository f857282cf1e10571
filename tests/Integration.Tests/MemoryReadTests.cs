namespace Aetherra.Integration.Tests;

public sealed class MemoryReadTests(AetherraFixture fx)
{
    [Fact]
    public async Task an_unknown_memory_is_not_found()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).GetAsync($"/memories/{Guid.NewGuid()}");

        await response.AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task the_history_of_an_unknown_memory_is_not_found()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).GetAsync($"/memories/{Guid.NewGuid()}/history");

        await response.AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task a_read_at_the_sequence_of_its_write_answers_at_once()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, sequence) = await client.RecordAsync(Api.Memory("Rosa takes the 8:15 train"));

        var response = await client.GetAsync($"/memories/{id}?minSequence={sequence}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Rosa takes the 8:15 train", (await response.Json()).GetProperty("content").GetString());
    }

    [Fact]
    public async Task a_read_at_a_sequence_never_written_gives_up_with_503_and_retry_after()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, sequence) = await client.RecordAsync(Api.Memory("Sam is on leave"));

        var response = await client.GetAsync($"/memories/{id}?minSequence={sequence + 1_000_000_000}");

        var problem = await response.AssertProblem(HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(sequence + 1_000_000_000, problem.GetProperty("minSequence").GetInt64());
    }

    [Fact]
    public async Task the_history_of_a_new_memory_is_its_recorded_event_by_its_key()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Tara runs marathons"));

        var history = await (await client.GetAsync($"/memories/{id}/history")).Json();

        var entry = Assert.Single(history.EnumerateArray());
        Assert.Equal(1, entry.GetProperty("version").GetInt64());
        Assert.Equal(MemoryTestSupport.Recorded, entry.GetProperty("type").GetString());
        Assert.Equal(key.KeyId.ToString(), entry.GetProperty("actor").GetString());
        Assert.InRange(entry.GetProperty("at").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }
}

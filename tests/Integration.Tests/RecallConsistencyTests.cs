namespace Aetherra.Integration.Tests;

public sealed class RecallConsistencyTests(AetherraFixture fx)
{
    [Fact]
    public async Task recall_given_the_sequence_of_a_write_finds_that_memory_at_once()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (id, sequence) = await client.RecordAsync(Api.Memory("Ines keeps her bike in the cellar", subject: "ines"));

        var results = await client.RecallAsync(new { query = "Where does Ines keep her bike?", minSequence = sequence });

        var found = Assert.Single(results);
        Assert.Equal(id, found.GetProperty("id").GetGuid());
        Assert.Equal("Ines keeps her bike in the cellar", found.GetProperty("content").GetString());
        Assert.Equal(1, found.GetProperty("version").GetInt32());
        Assert.Equal("ines", found.GetProperty("subject").GetString());
    }

    [Fact]
    public async Task recall_given_a_sequence_far_beyond_the_store_answers_503_with_retry_after()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, sequence) = await client.RecordAsync(Api.Memory("Ines owns a red bike", subject: "ines"));
        var beyond = sequence + 1_000_000_000;

        var response = await client.PostAsJsonAsync("/recall", new { query = "bike", minSequence = beyond });

        var body = await response.AssertProblem(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(beyond, body.GetProperty("minSequence").GetInt64());
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.True(response.Headers.RetryAfter!.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task a_negative_min_sequence_is_refused()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);

        var response = await client.PostAsJsonAsync("/recall", new { query = "bike", minSequence = -1 });

        await response.AssertValidationErrorAsync("minSequence");
    }
}

namespace Aetherra.Integration.Tests;

public sealed class MemoryForgetTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_forgotten_memory_reads_as_forgotten_without_content()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, recorded) = await client.RecordAsync(Api.Memory("Gus's home address"));

        var response = await client.DeleteAsync($"/memories/{id}?reason=asked%20to%20forget");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(id, body.GetProperty("id").GetGuid());
        Assert.Equal("forgotten", body.GetProperty("status").GetString());
        var sequence = body.GetProperty("sequence").GetInt64();
        Assert.True(sequence > recorded);
        var read = await (await client.GetAsync($"/memories/{id}?minSequence={sequence}")).Json();
        Assert.Equal("forgotten", read.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, read.GetProperty("content").ValueKind);
        Assert.Equal(2, read.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task the_history_of_a_forgotten_memory_ends_with_its_forgotten_event()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Hal's phone number"));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/memories/{id}?reason=x")).StatusCode);

        var history = (await (await client.GetAsync($"/memories/{id}/history")).Json()).EnumerateArray().ToArray();

        Assert.Equal([MemoryTestSupport.Recorded, MemoryTestSupport.Forgotten], history.Select(h => h.GetProperty("type").GetString()!).ToArray());
    }

    [Fact]
    public async Task forgetting_a_memory_twice_is_refused()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Ida's bank"));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/memories/{id}?reason=x")).StatusCode);

        var again = await client.DeleteAsync($"/memories/{id}?reason=x");

        await again.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(2, await fx.CountStreamEventsAsync(id));
    }

    [Fact]
    public async Task forgetting_an_unknown_memory_is_not_found()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).DeleteAsync($"/memories/{Guid.NewGuid()}?reason=x");

        await response.AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task a_reason_longer_than_1000_characters_is_refused()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Jon's allergy"));

        var response = await client.DeleteAsync($"/memories/{id}?reason={new string('r', 1001)}");

        await response.AssertValidationErrorAsync("reason");
        Assert.Equal("active", (await client.ReadMemoryAsync(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task the_content_of_a_forgotten_memory_can_be_recorded_again_as_a_new_memory()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Kay is allergic to cats"));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/memories/{id}?reason=x")).StatusCode);

        var again = await client.PostAsJsonAsync("/memories", Api.Memory("Kay is allergic to cats"));

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        var newId = (await again.Json()).GetProperty("id").GetGuid();
        Assert.NotEqual(id, newId);
        Assert.Equal("Kay is allergic to cats", (await client.ReadMemoryAsync(newId)).GetProperty("content").GetString());
    }
}

namespace Aetherra.Integration.Tests;

/// <summary>The child-process server that socket clients (browsers, MCP clients, fuzzers) test against.</summary>
public sealed class LoopbackServerTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_loopback_server_starts_on_its_own_database_and_serves_its_bootstrap_key()
    {
        await using var server = await fx.StartLoopbackServerAsync(ct: TestContext.Current.CancellationToken);
        Assert.StartsWith("http://127.0.0.1:", server.BaseAddress.ToString());

        var key = await server.NewKeyAsync("loopback", "loopback-tenant", ["memory:read", "memory:write"], TestContext.Current.CancellationToken);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var written = await http.PostAsJsonAsync("/memories",
            new { content = "the loopback server stores this", subject = "s", agent = "a", kind = "fact" },
            TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, written.StatusCode);

        // Its database is its own: the in-process host of the other tests does not see that tenant's memory.
        var id = (await written.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("id").GetString();
        var mine = await fx.NewKeyAsync("loopback-tenant", "memory:read");
        var elsewhere = await fx.Client(mine.Key).GetAsync($"/memories/{id}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }
}

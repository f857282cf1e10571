using System.Diagnostics;
using System.Net.Http.Headers;
using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Conversations;

/// <summary>A server of its own (providers are the installation's) and a fake OpenAI-compatible provider beside it.</summary>
public sealed class ProviderServer(AetherraFixture fx) : IAsyncLifetime
{
    public FakeOpenAi Model { get; private set; } = null!;
    public ServerProcess Server { get; private set; } = null!;
    public HttpClient Operator { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Model = await FakeOpenAi.StartAsync();
        Server = await fx.StartLoopbackServerAsync(new Dictionary<string, string> { ["AETHERRA_AI_BREAKER_MIN_CALLS"] = "2" });
        // The installation's operator (on this branch the bootstrap key is the tenant administrator, who may issue it).
        Operator = Client(await Server.NewKeyAsync("operator", "default", ["operator"], CancellationToken.None));
    }

    public HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async Task<HttpClient> NewTenantAsync() =>
        Client(await Server.NewKeyAsync("test", "t-" + Guid.NewGuid().ToString("N")[..12], ConversationSupport.AllScopes, CancellationToken.None));

    public async Task<JsonElement> UseAsync(params object[] providers)
    {
        var response = await Operator.PutAsJsonAsync("/admin/ai/providers", new { providers });
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return body;
    }

    public object Provider(string name, string mode, int timeoutSeconds = 10, string? apiKey = null) =>
        new { name, kind = "openai", baseUrl = Model.BaseUrl(mode), model = "fake-" + mode, timeoutSeconds, apiKey };

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Model.DisposeAsync();
    }
}

public sealed class ProviderTests(ProviderServer s) : IClassFixture<ProviderServer>
{
    /// <summary>A conversation of a new tenant about a memory recall has indexed, and that memory's id.</summary>
    private async Task<(HttpClient Client, Guid Conversation, Guid Memory)> GroundedAsync()
    {
        var client = await s.NewTenantAsync();
        var (memory, sequence) = await client.RecordAsync(Api.Memory("Alice drinks green tea", subject: "alice"));
        var deadline = DateTimeOffset.UtcNow + RecallTestSupport.NotYetConsistentPatience;
        while ((await client.PostAsJsonAsync("/recall", new { query = "tea", minSequence = sequence })).StatusCode != HttpStatusCode.OK)
            Assert.True(DateTimeOffset.UtcNow < deadline, "recall never reached the memory");
        // Extraction off: these tests count each provider's calls, and extraction calls the chain too (ExtractionTests).
        return (client, await client.StartConversationAsync(subject: "alice", extraction: false), memory);
    }

    [Fact]
    public async Task the_chain_falls_back_past_a_500_and_a_429_to_the_provider_that_answers_and_cites_what_it_named()
    {
        await s.UseAsync(s.Provider("p500", "fail500"), s.Provider("p429", "rate429"), s.Provider("good", "ok"));
        var (client, id, memory) = await GroundedAsync();
        var (before500, before429) = (s.Model.Calls("fail500"), s.Model.Calls("rate429"));

        var reply = await client.ReplyAsync(id, "What does Alice drink?");

        Assert.True(reply.GetProperty("generated").GetBoolean());
        Assert.Equal("good", reply.Str("provider"));
        Assert.Equal("fake-ok", reply.Str("model"));
        Assert.Equal(string.Concat(FakeOpenAi.Reply), reply.Str("content"));
        Assert.Equal(memory, Assert.Single(reply.GetProperty("citations").EnumerateArray()).GetProperty("memoryId").GetGuid());
        Assert.Equal(42, reply.GetProperty("tokensIn").GetInt32());
        Assert.Equal(5, reply.GetProperty("tokensOut").GetInt32());
        Assert.Equal((before500 + 1, before429 + 1), (s.Model.Calls("fail500"), s.Model.Calls("rate429")));

        var usage = await client.GetAsync($"/ai/usage?minSequence={reply.GetProperty("sequence").GetInt64()}");
        var items = (await usage.Json()).GetProperty("items").EnumerateArray().ToDictionary(i => i.Str("provider"));
        Assert.Equal((1, 1), (items["p500"].GetProperty("calls").GetInt64(), items["p500"].GetProperty("failures").GetInt64()));
        Assert.Equal((1, 1), (items["p429"].GetProperty("calls").GetInt64(), items["p429"].GetProperty("failures").GetInt64()));
        Assert.Equal((1, 0), (items["good"].GetProperty("calls").GetInt64(), items["good"].GetProperty("failures").GetInt64()));
        Assert.Equal(5, items["good"].GetProperty("tokensOut").GetInt64());
    }

    [Fact]
    public async Task a_provider_with_no_first_token_costs_only_its_timeout_before_the_next_answers()
    {
        await s.UseAsync(s.Provider("sluggish", "slow", timeoutSeconds: 1), s.Provider("good", "ok"));
        var (client, id, _) = await GroundedAsync();
        var clock = Stopwatch.StartNew();
        var reply = await client.ReplyAsync(id, "What does Alice drink?");
        Assert.Equal("good", reply.Str("provider"));
        Assert.InRange(clock.Elapsed.TotalSeconds, 1, 4);
    }

    [Fact]
    public async Task the_breaker_stops_calling_a_failing_provider()
    {
        await s.UseAsync(s.Provider("p500", "fail500"), s.Provider("good", "ok"));
        var (client, id, _) = await GroundedAsync();
        var before = s.Model.Calls("fail500");
        for (var i = 0; i < 4; i++)
            Assert.Equal("good", (await client.ReplyAsync(id, $"What does Alice drink? ({i})")).Str("provider"));
        // Two failures open it (AETHERRA_AI_BREAKER_MIN_CALLS=2): the next replies go straight to the second provider.
        Assert.Equal(before + 2, s.Model.Calls("fail500"));
    }

    [Fact]
    public async Task when_every_provider_fails_the_reply_is_502_audited_and_the_user_turn_is_kept()
    {
        await s.UseAsync(s.Provider("garbled", "badjson"), s.Provider("p429", "rate429"));
        var (client, id, _) = await GroundedAsync();

        var response = await client.PostAsJsonAsync($"/conversations/{id}/reply", new { message = "Are you there?" });

        var problem = await response.AssertProblem(HttpStatusCode.BadGateway);
        Assert.Equal("rate-limited", problem.Str("errorClass"));
        Assert.Equal(1, problem.GetProperty("turn").GetInt32());
        var turn = Assert.Single((await client.ConversationAsync(id)).Turns());
        Assert.Equal("Are you there?", turn.Str("content"));
        var audit = Assert.Single(await client.AuditAsync("conversation.reply"));
        Assert.Equal(("rejected", 502), (audit.Str("outcome"), audit.GetProperty("status").GetInt32()));
    }

    [Fact]
    public async Task a_stream_that_breaks_after_its_first_token_fails_the_reply_and_keeps_the_user_turn()
    {
        await s.UseAsync(s.Provider("flaky", "broken"), s.Provider("good", "ok"));
        var (client, id, _) = await GroundedAsync();
        var response = await client.PostAsJsonAsync($"/conversations/{id}/reply", new { message = "Tell me" });
        Assert.Equal("broken-stream", (await response.AssertProblem(HttpStatusCode.BadGateway)).Str("errorClass"));
        Assert.Single((await client.ConversationAsync(id)).Turns());
    }

    [Fact]
    public async Task a_client_that_drops_mid_reply_resumes_without_a_second_model_call()
    {
        await s.UseAsync(s.Provider("steady", "slowstream"));
        var (client, id, _) = await GroundedAsync();
        var before = s.Model.Calls("slowstream");
        var request = new { message = "What does Alice drink?" };

        var first = await client.EventsAsync(HttpMethod.Post, $"/conversations/{id}/reply", request, stopAfter: 2);
        var rest = await client.EventsAsync(HttpMethod.Post, $"/conversations/{id}/reply", request, lastEventId: first[^1].Id);

        Assert.Equal(["1:1", "1:2"], first.Select(f => f.Id));
        Assert.Equal(Enumerable.Range(3, rest.Count).Select(n => $"1:{n}"), rest.Select(f => f.Id));
        Assert.Equal("done", rest[^1].Event);
        Assert.Equal(string.Concat(FakeOpenAi.Reply), first.Concat(rest).Text());
        Assert.Equal(before + 1, s.Model.Calls("slowstream"));
        Assert.Equal(2, (await client.ConversationAsync(id)).Turns().Length);
    }

    [Fact]
    public async Task provider_api_keys_are_sent_to_the_provider_and_never_shown()
    {
        var secret = "sk-test-" + Guid.NewGuid().ToString("N");
        var put = await s.UseAsync(s.Provider("keyed", "ok", apiKey: secret));
        var got = await (await s.Operator.GetAsync("/admin/ai/providers")).Json();
        Assert.DoesNotContain(secret, put.ToString());
        Assert.DoesNotContain(secret, got.ToString());
        Assert.True(Assert.Single(got.GetProperty("providers").EnumerateArray()).GetProperty("hasApiKey").GetBoolean());

        var (client, id, _) = await GroundedAsync();
        await client.ReplyAsync(id, "What does Alice drink?");
        Assert.Contains($"Bearer {secret}", s.Model.Authorizations);
        Assert.DoesNotContain(secret, await File.ReadAllTextAsync(s.Server.LogFile));
    }

    [Fact]
    public async Task only_an_operator_configures_providers_and_bad_ones_are_400()
    {
        var tenant = await s.NewTenantAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await tenant.PutAsJsonAsync("/admin/ai/providers", new { providers = Array.Empty<object>() })).StatusCode);
        var bad = await s.Operator.PutAsJsonAsync("/admin/ai/providers",
            new { providers = new[] { new { name = "x", kind = "gpt", baseUrl = "ftp://nowhere", model = "m" } } });
        var errors = (await bad.AssertProblem(HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.Contains("providers[0].kind", errors.EnumerateObject().Select(p => p.Name));
        Assert.Contains("providers[0].baseUrl", errors.EnumerateObject().Select(p => p.Name));
    }
}

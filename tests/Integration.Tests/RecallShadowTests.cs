namespace Aetherra.Integration.Tests;

/// <summary>Shadow rankings: a configured candidate runs beside the live ranking on sampled recalls, never returned.</summary>
public sealed class RecallShadowTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_shadow_ranking_is_sampled_compared_and_judged_by_usage_without_changing_what_recall_returns()
    {
        var ct = TestContext.Current.CancellationToken;
        // Every recall sampled; the candidate ranks by the text alone and without neighbours.
        await using var server = await fx.StartLoopbackServerAsync(new Dictionary<string, string>
        {
            ["AETHERRA_RECALL_SHADOW"] = "textWeight=1;neighbourWeight=0",
            ["AETHERRA_RECALL_SHADOW_SAMPLE"] = "1",
        }, ct);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            await server.NewKeyAsync("shadow", "shadow-tenant", ["memory:read", "memory:write"], ct));
        var (ids, recorded) = await client.RecordBatchAsync([
            Api.Memory("Sam's favourite tea is jasmine", subject: "sam"),
            Api.Memory("Sam drinks coffee only on Mondays", subject: "sam"),
            Api.Memory("Sam's sister lives in Porto", subject: "sam"),
            Api.Memory("Sam is learning to play the cello", subject: "sam"),
        ]);

        var first = await client.RecallAsync(new { query = "what does Sam like to drink", subject = "sam", minSequence = recorded });
        Assert.NotEmpty(first);
        Assert.All(first, r => Assert.False(r.TryGetProperty("shadow", out _)));
        await client.RecallAsync(new { query = "Sam's family", subject = "sam" });
        await client.RecallAsync(new { query = "music", subject = "sam" });
        var sequence = (await (await client.PostAsJsonAsync($"/memories/{ids[0]}/reinforce", new { weight = 1.0 }, ct)).Json())
            .GetProperty("sequence").GetInt64();
        await client.RecallAsync(new { query = "tea", subject = "sam", minSequence = sequence });

        var report = await client.GetFromJsonAsync<JsonElement>("/recall/shadow", ct);
        Assert.Equal("textWeight=0.4;neighbourWeight=0.3", report.GetProperty("live").GetString());
        Assert.Equal("textWeight=1;neighbourWeight=0", report.GetProperty("candidate").GetString());
        Assert.Equal(1.0, report.GetProperty("sampleRate").GetDouble());
        var candidate = Assert.Single(report.GetProperty("candidates").EnumerateArray());
        Assert.Equal(4, candidate.GetProperty("samples").GetInt32());
        Assert.InRange(candidate.GetProperty("overlapAt10").GetDouble(), 0.0, 1.0);
        Assert.InRange(candidate.GetProperty("rankCorrelation").GetDouble(), -1.0, 1.0);
        // The tea memory was reinforced after the first three recalls: those that returned it judge both rankings.
        Assert.InRange(candidate.GetProperty("judged").GetInt32(), 1, 3);
        Assert.InRange(candidate.GetProperty("liveRecall").GetDouble(), 0.0, 1.0);
        Assert.InRange(candidate.GetProperty("candidateRecall").GetDouble(), 0.0, 1.0);

        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/recall/shadow?windowHours=0", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient { BaseAddress = server.BaseAddress }.GetAsync("/recall/shadow", ct)).StatusCode);
    }

    [Fact]
    public async Task without_a_candidate_the_report_names_the_live_ranking_and_nothing_else()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var report = await client.GetFromJsonAsync<JsonElement>("/recall/shadow", TestContext.Current.CancellationToken);
        Assert.Equal("textWeight=0.4;neighbourWeight=0.3", report.GetProperty("live").GetString());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("candidate").ValueKind);
        Assert.Empty(report.GetProperty("candidates").EnumerateArray());
    }
}

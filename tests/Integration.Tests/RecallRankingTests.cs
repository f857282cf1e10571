namespace Aetherra.Integration.Tests;

public sealed class RecallRankingTests(AetherraFixture fx)
{
    private static readonly string[] Places =
    [
        "the Alps", "the Dolomites", "Snowdonia", "the Lake District", "Yosemite", "the Pyrenees", "Patagonia",
        "the Rockies", "the Highlands", "the Tatra mountains", "Norway's fjords", "the Black Forest", "Iceland",
        "the Appalachian Trail", "the Cascades", "Mount Olympus", "the Carpathians", "the Vosges", "the Jura",
        "the Sierra Nevada",
    ];

    [Fact]
    public async Task a_rare_name_in_the_query_ranks_the_one_memory_naming_it_first_among_many_similar_memories()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var hikes = Places.Select((place, i) =>
            Api.Memory($"Uma went on a {i + 2}-day hiking trip in {place} with her friends", subject: "uma"));
        var (ids, sequence) = await client.RecordBatchAsync(
            hikes.Append(Api.Memory("Uma went on a hiking trip in Zanzibar with her friends", subject: "uma")));
        var zanzibar = ids[^1];

        var bySubject = await client.RecallAsync(new { query = "When did Uma go hiking in Zanzibar?", subject = "uma", minSequence = sequence });
        var byName = await client.RecallAsync(new { query = "Zanzibar", minSequence = sequence });

        Assert.Equal(zanzibar, bySubject[0].GetProperty("id").GetGuid());
        Assert.Equal(10, bySubject.Length);
        Assert.Equal(zanzibar, byName[0].GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task explain_returns_each_component_of_every_results_score()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, sequence) = await client.RecordBatchAsync([
            new { content = "Vera plays the cello in an orchestra", subject = "vera", agent = "assistant", kind = "fact", importance = 0.9 },
            new { content = "Vera practises music every evening", subject = "vera", agent = "assistant", kind = "fact", importance = 0.2 },
        ]);

        var results = await client.RecallAsync(new { query = "cello orchestra", explain = true, minSequence = sequence });

        Assert.Equal(2, results.Length);
        foreach (var result in results)
        {
            var explain = result.GetProperty("explain");
            Assert.Equal(JsonValueKind.Object, explain.ValueKind);
            foreach (var part in new[] { "text", "semantic", "recency", "importance", "reinforcement" })
                Assert.Equal(JsonValueKind.Number, explain.GetProperty(part).ValueKind);
            Assert.InRange(explain.GetProperty("recency").GetDouble(), 0.99, 1.0);
            Assert.Equal(0.0, explain.GetProperty("reinforcement").GetDouble());
        }
        var cello = results.Single(r => r.GetProperty("content").GetString()!.Contains("cello")).GetProperty("explain");
        var music = results.Single(r => r.GetProperty("content").GetString()!.Contains("music")).GetProperty("explain");
        Assert.True(cello.GetProperty("text").GetDouble() > 0);
        Assert.Equal(0.0, music.GetProperty("text").GetDouble());
        Assert.True(cello.GetProperty("semantic").GetDouble() > music.GetProperty("semantic").GetDouble());
        Assert.Equal(0.9, cello.GetProperty("importance").GetDouble());
        Assert.Equal(0.2, music.GetProperty("importance").GetDouble());
    }

    [Fact]
    public async Task without_explain_no_result_carries_an_explanation()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, sequence) = await client.RecordAsync(Api.Memory("Vera plays the cello", subject: "vera"));

        var absent = await client.RecallAsync(new { query = "cello", minSequence = sequence });
        var off = await client.RecallAsync(new { query = "cello", explain = false, minSequence = sequence });

        Assert.Single(absent);
        Assert.Single(off);
        Assert.All(absent.Concat(off), r =>
            Assert.True(!r.TryGetProperty("explain", out var e) || e.ValueKind == JsonValueKind.Null, r.ToString()));
    }
}

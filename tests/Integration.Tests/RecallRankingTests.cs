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

    [Theory]
    [InlineData("kayak trips")]
    [InlineData("kayak alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november")]
    public async Task bm25_of_recall_equals_bm25_over_the_unnested_text_vectors_for_short_and_long_queries(string query)
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november".Split(' ');
        var (_, sequence) = await client.RecordBatchAsync(Enumerable.Range(0, 30).Select(i => Api.Memory(
            string.Join(' ', Enumerable.Range(0, 3 + i % 9).Select(j => words[(i * 7 + j * 3) % words.Length]))
            + string.Concat(Enumerable.Repeat(" kayak", i % 4)) + (i % 5 == 0 ? " trips" : ""), subject: "wes")));

        var results = await client.RecallAsync(new { query, subject = "wes", explain = true, limit = 100, minSequence = sequence });

        // The formula as it was computed before (every lexeme of each match unnested and joined to the statistics).
        var expected = new Dictionary<Guid, double>();
        await using (var connection = fx.OpenDatabase())
        await using (var cmd = new Npgsql.NpgsqlCommand("""
            with s as (select docs::float8 as n, total_len::float8 / docs as avgdl from aetherra.recall_subjects where tenant_id = $1 and subject = 'wes'),
            t as (select lexeme, ln(1 + (s.n - df + 0.5) / (df + 0.5)) as idf from aetherra.recall_terms, s
                  where tenant_id = $1 and subject = 'wes' and lexeme = any(tsvector_to_array(to_tsvector('english', $2))))
            select e.memory_id, sum(t.idf * d.tf * 2.2 / (d.tf + 1.2 * (1 - 0.75 + 0.75 * e.doc_len / s.avgdl)))
            from aetherra.recall_entries e cross join s
            cross join lateral (select u.lexeme, coalesce(array_length(u.positions, 1), 1) as tf from unnest(e.tsv) u) d
            join t on t.lexeme = d.lexeme
            where e.tenant_id = $1 and e.subject = 'wes' and e.valid_to is null
            group by e.memory_id
            """, connection))
        {
            cmd.Parameters.Add(new() { Value = tenant.Tenant });
            cmd.Parameters.Add(new() { Value = query });
            await using var reader = await cmd.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            while (await reader.ReadAsync(TestContext.Current.CancellationToken)) expected[reader.GetGuid(0)] = reader.GetDouble(1);
        }

        Assert.Equal(expected.Count, results.Count(r => r.GetProperty("explain").GetProperty("text").GetDouble() > 0));
        foreach (var r in results)
        {
            var want = expected.GetValueOrDefault(r.GetProperty("id").GetGuid());
            var got = r.GetProperty("explain").GetProperty("text").GetDouble();
            Assert.True(Math.Abs(want - got) < 2e-6, $"text score {got}, expected {want}");
        }
    }
}

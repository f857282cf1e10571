namespace Aetherra.Integration.Tests;

/// <summary>
/// Recall's query path for latency: the full-text statement runs while the query is embedded, and BM25 scores only the
/// query's lexemes of each match. AETHERRA_RECALL_EMBED=serial and AETHERRA_RECALL_SCORING=unnest bring the old path
/// back for measurement; both paths must answer the same: the same memories in the same order with the same
/// text and semantic parts, and a semantic-only match (no word in common) brings its row too.
/// </summary>
public sealed class RecallLatencySwitchTests(AetherraFixture fx)
{
    private static readonly string[] Texts =
    [
        "The dog barked at the mailman every morning",
        "Ana prefers green tea to coffee in the morning",
        "Coffee with Ben on Friday at the office, then coffee again after lunch",
        "Ana's sister lives in Lisbon and visits in summer",
        "The quarterly budget report is due on Monday",
        "Ana is allergic to peanuts",
        "Ana booked a flight to Tokyo for the conference",
        "A cup of coffee costs three euros at the station",
        "The team meeting moved to Thursday morning",
        "Ana learns the piano on Tuesday evenings",
    ];

    private static readonly string[] Queries =
    [
        "coffee morning", "what is Ana allergic to", "when is the budget report due", "coffee coffee tea Ana",
        "puppy noise", "flight Tokyo conference", "piano", "Lisbon sister summer morning coffee",
    ];

    [Fact]
    public async Task the_overlapped_statement_and_filtered_scoring_answer_as_the_serial_path_did()
    {
        var ct = TestContext.Current.CancellationToken;
        var answers = new List<(string Query, string[] Contents, (double Text, double Semantic)[] Parts)[]>();
        foreach (var old in new[] { false, true })
        {
            var env = new Dictionary<string, string>();
            if (old)
            {
                env["AETHERRA_RECALL_EMBED"] = "serial";
                env["AETHERRA_RECALL_SCORING"] = "unnest";
            }
            await using var server = await fx.StartLoopbackServerAsync(env, ct);
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
                await server.NewKeyAsync("latency", "latency-tenant", ["memory:read", "memory:write"], ct));
            var (_, recorded) = await client.RecordBatchAsync([
                .. Texts.Select(t => Api.Memory(t, subject: "ana")),
                Api.Memory("Coffee and a dog in another subject", subject: "ben"),
            ]);
            var answer = new List<(string, string[], (double, double)[])>();
            foreach (var query in Queries)
            {
                var results = await client.RecallAsync(new { query, subject = "ana", limit = 5, explain = true, minSequence = recorded });
                Assert.All(results, r => Assert.Equal("ana", r.GetProperty("subject").GetString()));
                answer.Add((query, results.Contents(), results.Select(r => (
                    r.GetProperty("explain").GetProperty("text").GetDouble(),
                    r.GetProperty("explain").GetProperty("semantic").GetDouble())).ToArray()));
            }
            // Without a subject: the tenant's statistics, the same rule.
            var tenant = await client.RecallAsync(new { query = "coffee dog", limit = 10, explain = true, minSequence = recorded });
            answer.Add(("coffee dog (tenant)", tenant.Contents(), tenant.Select(r => (
                r.GetProperty("explain").GetProperty("text").GetDouble(),
                r.GetProperty("explain").GetProperty("semantic").GetDouble())).ToArray()));
            answers.Add(answer.ToArray());

            // No word in common with the dog's memory: the semantic side alone finds it, and its row comes with it.
            var puppy = await client.RecallAsync(new { query = "puppy noise", subject = "ana", limit = 3, explain = true });
            var dog = Assert.Single(puppy, r => r.GetProperty("content").GetString() == Texts[0]);
            Assert.Equal(0, dog.GetProperty("explain").GetProperty("text").GetDouble());
            Assert.True(dog.GetProperty("explain").GetProperty("semantic").GetDouble() > 0);
        }

        var (now, before) = (answers[0], answers[1]);
        for (var i = 0; i < now.Length; i++)
        {
            Assert.Equal(before[i].Contents.Length, now[i].Contents.Length);
            // Each memory both paths returned has the same text and semantic parts: what the two paths compute. Their order
            // may differ where two memories score alike (the ranking breaks ties by memory id, and each server made its own
            // ids; the CI saw one query's tail order differently with the int8 embedder), and so may the last place, when a
            // tie sits at the limit: every memory but one must be in both answers.
            var parts = before[i].Contents.Select((c, j) => (c, before[i].Parts[j])).ToDictionary(x => x.c, x => x.Item2);
            var common = 0;
            for (var j = 0; j < now[i].Contents.Length; j++)
            {
                if (!parts.TryGetValue(now[i].Contents[j], out var was)) continue;
                common++;
                Assert.Equal(was.Text, now[i].Parts[j].Text, 6);
                Assert.Equal(was.Semantic, now[i].Parts[j].Semantic, 5);
            }
            Assert.True(common >= now[i].Contents.Length - 1,
                $"{now[i].Query}: only {common} of {now[i].Contents.Length} memories in both answers");
        }
        // The text side did score something (the comparison is not between two empty answers).
        Assert.Contains(now, a => a.Parts.Any(p => p.Text > 0));
    }
}

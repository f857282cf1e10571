namespace Aetherra.Integration.Tests;

/// <summary>
/// Recall's full-text match budget (AETHERRA_RECALL_MATCH_BUDGET): the rarest query words match while their entry
/// counts fit the budget, the commoner ones match where two of them meet, and when that brings fewer entries than
/// asked for, every word matches again (as without a budget).
/// </summary>
public sealed class RecallMatchBudgetTests(AetherraFixture fx)
{
    [Fact]
    public async Task common_words_match_where_two_meet_and_every_word_matches_again_when_too_few_entries_came()
    {
        var ct = TestContext.Current.CancellationToken;
        // A budget of 4 entries, text only (no semantic candidates, no neighbours): what matches is the text side alone.
        await using var server = await fx.StartLoopbackServerAsync(new Dictionary<string, string>
        {
            ["AETHERRA_RECALL_MATCH_BUDGET"] = "4",
            ["AETHERRA_EMBEDDINGS"] = "off",
        }, ct);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            await server.NewKeyAsync("budget", "budget-tenant", ["memory:read", "memory:write"], ct));
        string[] coffee = ["Morning coffee in Lisbon", "Coffee beans from Kenya", "Iced coffee on hot days", "Decaf coffee after dinner", "The coffee grinder broke"];
        string[] tea = ["Green tea in Kyoto", "Lessons in the tea ceremony", "Mint tea after lunch", "Chamomile tea before bed"];
        var (ids, recorded) = await client.RecordBatchAsync([
            Api.Memory("A zebra crossed the road", subject: "ana"),
            Api.Memory("Coffee and tea at noon", subject: "ana"),
            .. coffee.Select((c, i) => Api.Memory(c, subject: "ana", kind: i == 0 ? "episode" : "fact")),
            .. tea.Select(t => Api.Memory(t, subject: "ana")),
            // Another subject's entries count neither in this subject's statistics nor in its matches.
            Api.Memory("A zebra and coffee and tea", subject: "ben"),
        ]);
        var (zebra, both) = (ids[0], ids[1]);

        // zebra (1 entry) fits the budget, tea (5) and coffee (6) do not: zebra | (tea & coffee).
        var two = await client.RecallAsync(new { query = "zebra coffee tea", subject = "ana", limit = 2, minSequence = recorded });
        Assert.Equal(new[] { zebra, both }.Order(), two.Select(r => r.GetProperty("id").GetGuid()).Order());

        // Asked for 10, the budget's match brings 2: every word matches, as without a budget (all 11 of the subject).
        var ten = await client.RecallAsync(new { query = "zebra coffee tea", subject = "ana", limit = 10 });
        Assert.Equal(10, ten.Length);
        Assert.All(ten, r => Assert.Equal("ana", r.GetProperty("subject").GetString()));
        Assert.Contains(ten, r => r.GetProperty("id").GetGuid() == zebra);

        // The filter refuses the rare word's entry: the common word's entries of that kind are found all the same.
        var episode = Assert.Single(await client.RecallAsync(new { query = "zebra coffee", subject = "ana", kinds = new[] { "episode" } }));
        Assert.Equal(ids[2], episode.GetProperty("id").GetGuid());

        // Without a subject (the tenant's statistics): the same budget, the same rule.
        var tenant = await client.RecallAsync(new { query = "zebra coffee tea", limit = 3 });
        Assert.Equal(3, tenant.Length);
        Assert.Contains(tenant, r => r.GetProperty("id").GetGuid() == zebra);
    }
}

namespace Aetherra.Integration.Tests.Decisions;

public sealed class DecisionQueueTests(AetherraFixture fx)
{
    [Fact]
    public async Task the_approval_queue_lists_escalated_decisions_oldest_first_and_drops_them_once_reviewed()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var first = (await client.ProposeAsync(DecisionSupport.Proposal(0.4))).Id();
        await client.ProposeAsync(DecisionSupport.Proposal(0.95));
        var second = (await client.ProposeAsync(DecisionSupport.Proposal(0.99, risk: "high"))).Id();
        var third = (await client.ProposeAsync(DecisionSupport.Proposal(0.5))).Id();
        await client.ProposeAsync(DecisionSupport.Proposal(0.5, agent: "someone-else"));

        var queue = (await client.GetOkAsync("/decisions?status=escalated&agent=concierge&category=booking")).GetProperty("items");
        Assert.Equal([first, second, third], queue.EnumerateArray().Select(i => i.Id()));
        Assert.All(queue.EnumerateArray(), i => Assert.Equal("escalated", i.Str("status")));

        await client.PostAsync($"/decisions/{first}/approve", new { });
        await client.PostAsync($"/decisions/{second}/reject", new { });
        var after = (await client.GetOkAsync("/decisions?status=escalated&agent=concierge")).GetProperty("items");
        Assert.Equal([third], after.EnumerateArray().Select(i => i.Id()));
        Assert.Equal([second], (await client.GetOkAsync("/decisions?status=rejected")).GetProperty("items").EnumerateArray().Select(i => i.Id()));
    }

    [Fact]
    public async Task the_queue_pages_with_a_cursor()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++) ids.Add((await client.ProposeAsync(DecisionSupport.Proposal(0.1))).Id());

        var seen = new List<Guid>();
        string? after = null;
        while (true)
        {
            var page = await client.GetOkAsync($"/decisions?status=escalated&limit=2{(after is null ? "" : $"&after={after}")}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.Id()));
            if (page.GetProperty("next").ValueKind == JsonValueKind.Null) break;
            after = page.GetProperty("next").GetInt64().ToString();
        }
        Assert.Equal(ids, seen);
    }

    [Theory]
    [InlineData("status=maybe", "status")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1000", "limit")]
    [InlineData("after=-1", "after")]
    public async Task a_malformed_queue_query_is_400(string query, string field)
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var response = await client.GetAsync($"/decisions?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Json()).GetProperty("errors").TryGetProperty(field, out _));
    }
}

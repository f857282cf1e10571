namespace Aetherra.Integration.Tests;

public sealed class RecallFilterTests(AetherraFixture fx)
{
    private static object Memory(string content, string subject = "mia", string agent = "assistant", string? session = null,
        string kind = "fact", string[]? tags = null) =>
        new { content, subject, agent, session, kind, tags = tags ?? [] };

    [Fact]
    public async Task recall_returns_only_memories_of_the_given_subject_agent_and_session()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, sequence) = await client.RecordBatchAsync([
            Memory("Mia drinks her coffee black", subject: "mia", agent: "assistant", session: "s1"),
            Memory("Mia drinks coffee at the office", subject: "mia", agent: "assistant", session: "s2"),
            Memory("Mia orders coffee with oat milk", subject: "mia", agent: "planner", session: "s1"),
            Memory("Leo drinks his coffee black", subject: "leo", agent: "assistant", session: "s1"),
        ]);

        var bySubject = await client.RecallAsync(new { query = "coffee", subject = "mia", minSequence = sequence });
        var byAgent = await client.RecallAsync(new { query = "coffee", agent = "planner", minSequence = sequence });
        var bySession = await client.RecallAsync(new { query = "coffee", session = "s1", minSequence = sequence });
        var byAll = await client.RecallAsync(new { query = "coffee", subject = "mia", agent = "assistant", session = "s1", minSequence = sequence });
        var unfiltered = await client.RecallAsync(new { query = "coffee", minSequence = sequence });

        Assert.Equal(ids[..3].Order(), bySubject.Ids().Order());
        Assert.All(bySubject, r => Assert.Equal("mia", r.GetProperty("subject").GetString()));
        Assert.Equal([ids[2]], byAgent.Ids());
        Assert.Equal(new[] { ids[0], ids[2], ids[3] }.Order(), bySession.Ids().Order());
        Assert.Equal([ids[0]], byAll.Ids());
        Assert.Equal(ids.Order(), unfiltered.Ids().Order());
    }

    [Fact]
    public async Task recall_returns_only_memories_of_the_given_kinds()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, sequence) = await client.RecordBatchAsync([
            Memory("Mia likes tea in the morning", kind: "preference"),
            Memory("Mia had tea with Leo on Sunday", kind: "episode"),
            Memory("Mia is allergic to black tea", kind: "fact"),
            Memory("Always offer Mia green tea", kind: "instruction"),
        ]);

        var results = await client.RecallAsync(new { query = "tea", kinds = new[] { "preference", "episode" }, minSequence = sequence });
        var instructions = await client.RecallAsync(new { query = "tea", kinds = new[] { "instruction" }, minSequence = sequence });

        Assert.Equal(ids[..2].Order(), results.Ids().Order());
        Assert.Equal(["episode", "preference"], results.Select(r => r.GetProperty("kind").GetString()).Order());
        Assert.Equal([ids[3]], instructions.Ids());
    }

    [Fact]
    public async Task recall_given_tags_returns_only_memories_holding_every_one_of_them()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, sequence) = await client.RecordBatchAsync([
            Memory("Mia runs on Mondays", tags: ["sport"]),
            Memory("Mia runs with her club on Wednesdays", tags: ["sport", "club", "weekly"]),
            Memory("Mia runs the book club", tags: ["club"]),
            Memory("Mia runs a marathon each year", tags: []),
        ]);

        var both = await client.RecallAsync(new { query = "runs", tags = new[] { "sport", "club" }, minSequence = sequence });
        var one = await client.RecallAsync(new { query = "runs", tags = new[] { "club" }, minSequence = sequence });

        Assert.Equal([ids[1]], both.Ids());
        Assert.Equal(new[] { ids[1], ids[2] }.Order(), one.Ids().Order());
        Assert.All(one, r => Assert.Contains("club", r.GetProperty("tags").EnumerateArray().Select(t => t.GetString())));
    }

    [Fact]
    public async Task recall_returns_ten_results_by_default_and_at_most_the_given_limit()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, sequence) = await client.RecordBatchAsync(
            Enumerable.Range(1, 15).Select(i => Memory($"Mia read book number {i} about gardening")));

        var byDefault = await client.RecallAsync(new { query = "gardening book", minSequence = sequence });
        var three = await client.RecallAsync(new { query = "gardening book", limit = 3, minSequence = sequence });
        var all = await client.RecallAsync(new { query = "gardening book", limit = 100, minSequence = sequence });

        Assert.Equal(10, byDefault.Length);
        Assert.Equal(byDefault.Ids()[..3], three.Ids());
        Assert.Equal(ids.Order(), all.Ids().Order());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public async Task a_limit_outside_1_to_100_is_refused(int limit)
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);

        var response = await client.PostAsJsonAsync("/recall", new { query = "anything", limit });

        await response.AssertValidationErrorAsync("limit");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task a_blank_or_missing_query_is_refused(string? query)
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);

        var response = await client.PostAsJsonAsync("/recall", new { query });

        await response.AssertValidationErrorAsync("query");
    }

    [Fact]
    public async Task an_unknown_kind_is_refused()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);

        var response = await client.PostAsJsonAsync("/recall", new { query = "anything", kinds = new[] { "fact", "rumour" } });

        await response.AssertValidationErrorAsync("kinds[1]");
    }

    [Fact]
    public async Task another_tenants_memories_are_never_recalled()
    {
        var a = fx.Client((await fx.NewTenantAsync()).Key);
        var b = fx.Client((await fx.NewTenantAsync()).Key);
        var memory = Memory("Mia's passport number is in the blue folder", subject: "mia");
        var (inA, sequenceA) = await a.RecordAsync(memory);
        var (inB, sequenceB) = await b.RecordAsync(memory);
        Assert.NotEqual(inA, inB);
        var last = Math.Max(sequenceA, sequenceB);

        var fromA = await a.RecallAsync(new { query = "Mia's passport number", subject = "mia", minSequence = last });
        var fromB = await b.RecallAsync(new { query = "Mia's passport number", minSequence = last });

        Assert.Equal([inA], fromA.Ids());
        Assert.Equal([inB], fromB.Ids());
    }

    [Fact]
    public async Task a_key_without_memory_read_is_forbidden_to_recall()
    {
        var writer = await fx.NewTenantAsync("memory:write");

        var response = await fx.Client(writer.Key).PostAsJsonAsync("/recall", new { query = "anything" });

        await response.AssertProblem(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task recall_without_a_key_is_unauthorized()
    {
        var response = await fx.Client().PostAsJsonAsync("/recall", new { query = "anything" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

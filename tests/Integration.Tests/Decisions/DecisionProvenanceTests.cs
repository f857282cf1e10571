namespace Aetherra.Integration.Tests.Decisions;

public sealed class DecisionProvenanceTests(AetherraFixture fx)
{
    private static object Cite(Guid id, int version) => new { memoryId = id, version };

    private static JsonElement Evidence(JsonElement decision, int index = 0) => decision.GetProperty("evidence")[index];

    [Fact]
    public async Task a_decision_shows_each_cited_memory_as_it_was_at_the_cited_version_after_a_revision()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var (memory, _) = await client.RecordAsync(Api.Memory("Alice prefers window seats"));
        var early = (await client.ProposeAsync(DecisionSupport.Proposal(0.9, evidence: [Cite(memory, 1)]))).Id();
        // Citing reinforced it (version 2); the revision is version 3.
        var revised = await client.PutAsJsonAsync($"/memories/{memory}", new { content = "Alice prefers aisle seats", reason = "she changed her mind" });
        Assert.Equal(HttpStatusCode.OK, revised.StatusCode);
        Assert.Equal(3, (await revised.Json()).GetProperty("version").GetInt32());
        var late = (await client.ProposeAsync(DecisionSupport.Proposal(0.9, evidence: [Cite(memory, 3), Cite(memory, 1)]))).Id();

        var first = await client.GetOkAsync($"/decisions/{early}");
        Assert.Equal("Alice prefers window seats", Evidence(first).Str("content"));
        Assert.Equal(1, Evidence(first).GetProperty("version").GetInt32());
        Assert.False(Evidence(first).GetProperty("forgotten").GetBoolean());

        var second = await client.GetOkAsync($"/decisions/{late}");
        Assert.Equal("Alice prefers aisle seats", Evidence(second, 0).Str("content"));
        Assert.Equal("Alice prefers window seats", Evidence(second, 1).Str("content"));
    }

    [Fact]
    public async Task citing_a_memory_reinforces_it_in_the_same_transaction()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var (memory, _) = await client.RecordAsync(Api.Memory("Bob is allergic to peanuts"));
        var proposed = await client.ProposeAsync(DecisionSupport.Proposal(0.9, evidence: [Cite(memory, 1)]));

        var history = await client.GetOkAsync($"/memories/{memory}/history");
        Assert.Equal(["memory.recorded.v1", "memory.reinforced.v1"], history.EnumerateArray().Select(h => h.Str("type")));
        Assert.True(history[1].GetProperty("version").GetInt64() == 2);
        Assert.Equal(2, (await client.GetOkAsync($"/memories/{memory}?minSequence={proposed.GetProperty("sequence").GetInt64()}")).GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task a_memory_forgotten_since_the_decision_is_shown_as_forgotten_without_content()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var (memory, _) = await client.RecordAsync(Api.Memory("Carol's door code is 4711"));
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.9, evidence: [Cite(memory, 1)]))).Id();
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/memories/{memory}?reason=asked")).StatusCode);

        var evidence = Evidence(await client.GetOkAsync($"/decisions/{id}"));
        Assert.Equal(JsonValueKind.Null, evidence.GetProperty("content").ValueKind);
        Assert.True(evidence.GetProperty("forgotten").GetBoolean());
        Assert.Equal(memory, evidence.GetProperty("memoryId").GetGuid());
    }

    [Fact]
    public async Task a_memory_whose_subject_was_forgotten_is_shown_as_forgotten_without_content()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var (memory, _) = await client.RecordAsync(Api.Memory("Dave lives at 3 Elm Street", subject: "dave"));
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.9, evidence: [Cite(memory, 1)]))).Id();
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/subjects/dave")).StatusCode);

        var evidence = Evidence(await client.GetOkAsync($"/decisions/{id}"));
        Assert.Equal(JsonValueKind.Null, evidence.GetProperty("content").ValueKind);
        Assert.True(evidence.GetProperty("forgotten").GetBoolean());
    }

    [Fact]
    public async Task confidential_evidence_is_withheld_from_a_key_that_cannot_read_memories()
    {
        var key = await fx.NewTenantAsync(DecisionSupport.AllScopes);
        var client = fx.Client(key.Key);
        var (memory, _) = await client.RecordAsync(Api.Memory("Erin's salary is 90k", classification: "confidential"));
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.9, evidence: [Cite(memory, 1)]))).Id();
        var reviewer = fx.Client((await fx.NewKeyAsync(key.Tenant, "decisions:read")).Key);

        var withheld = Evidence(await reviewer.GetOkAsync($"/decisions/{id}"));
        Assert.Equal(JsonValueKind.Null, withheld.GetProperty("content").ValueKind);
        Assert.True(withheld.GetProperty("withheld").GetBoolean());
        Assert.Equal("Erin's salary is 90k", Evidence(await client.GetOkAsync($"/decisions/{id}")).Str("content"));
    }

    [Fact]
    public async Task citing_an_unknown_memory_a_missing_version_or_a_forgotten_memory_is_422_and_appends_nothing()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var other = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var (memory, _) = await client.RecordAsync(Api.Memory("Frank drinks tea"));
        var (foreign, _) = await other.RecordAsync(Api.Memory("Grace drinks coffee"));
        var (forgotten, _) = await client.RecordAsync(Api.Memory("Heidi drinks water"));
        await client.DeleteAsync($"/memories/{forgotten}");

        foreach (var (cite, words) in new[]
                 {
                     (Cite(Guid.NewGuid(), 1), "was not found"), (Cite(foreign, 1), "was not found"),
                     (Cite(memory, 2), "has no version 2"), (Cite(forgotten, 1), "forgotten")
                 })
        {
            var response = await client.PostAsJsonAsync("/decisions", DecisionSupport.Proposal(0.9, evidence: [cite]));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
            Assert.Contains(words, (await response.Json()).Str("detail"));
        }
        Assert.Equal(0, (await client.GetOkAsync("/decisions")).GetProperty("items").GetArrayLength());
        Assert.Equal(1, (await client.GetOkAsync($"/memories/{memory}")).GetProperty("version").GetInt32());
        Assert.Equal(4, (await client.AuditAsync("decision.propose")).Count(a => a.GetProperty("status").GetInt32() == 422));
    }
}

namespace Aetherra.Integration.Tests.Decisions;

public sealed class DecisionLifecycleTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_confident_low_risk_proposal_is_auto_approved_under_the_initial_threshold()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var created = await client.ProposeAsync(DecisionSupport.Proposal(0.85));
        Assert.Equal("approved", created.Str("status"));
        Assert.Equal(0.8, created.GetProperty("threshold").GetDouble());
        Assert.True(created.GetProperty("sequence").GetInt64() > 0);

        var decision = await client.GetOkAsync($"/decisions/{created.Id()}");
        Assert.Equal("approved", decision.Str("status"));
        Assert.True(decision.GetProperty("autoApproved").GetBoolean());
        Assert.Equal(0.8, decision.GetProperty("threshold").GetDouble());
    }

    [Fact]
    public async Task an_escalated_decision_is_approved_by_a_human_then_resolved()
    {
        var key = await fx.NewTenantAsync(DecisionSupport.AllScopes);
        var client = fx.Client(key.Key);
        var created = await client.ProposeAsync(DecisionSupport.Proposal(0.6));
        Assert.Equal("escalated", created.Str("status"));
        var id = created.Id();

        var approved = await client.PostAsync($"/decisions/{id}/approve", new { note = "go ahead" });
        Assert.Equal("approved", approved.Str("status"));
        var resolved = await client.PostAsync($"/decisions/{id}/outcome", new { success = true, score = 0.7, note = "she liked it" });
        Assert.Equal("resolved", resolved.Str("status"));
        Assert.True(resolved.GetProperty("sequence").GetInt64() > approved.GetProperty("sequence").GetInt64());

        var decision = await client.GetOkAsync($"/decisions/{id}");
        Assert.Equal("resolved", decision.Str("status"));
        Assert.Equal(key.KeyId.ToString(), decision.GetProperty("review").Str("by"));
        Assert.Equal("approved", decision.GetProperty("review").Str("decision"));
        Assert.True(decision.GetProperty("outcome").GetProperty("success").GetBoolean());
        Assert.Equal(0.7, decision.GetProperty("outcome").GetProperty("score").GetDouble());
        Assert.Contains("below the threshold", decision.Str("escalationReason"));
    }

    [Fact]
    public async Task an_outcome_for_a_rejected_decision_is_422_and_audited()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.5))).Id();
        Assert.Equal("rejected", (await client.PostAsync($"/decisions/{id}/reject", new { note = "not now" })).Str("status"));

        var response = await client.PostAsJsonAsync($"/decisions/{id}/outcome", new { success = true });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var audit = Assert.Single(await client.AuditAsync("decision.outcome"));
        Assert.Equal("rejected", audit.Str("outcome"));
        Assert.Equal(422, audit.GetProperty("status").GetInt32());
        Assert.Equal(id.ToString(), audit.Str("target"));
        Assert.Contains("rejected", audit.Str("reason"));
    }

    [Fact]
    public async Task a_second_outcome_is_422_and_audited()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.95))).Id();
        await client.PostAsync($"/decisions/{id}/outcome", new { success = true });
        var second = await client.PostAsJsonAsync($"/decisions/{id}/outcome", new { success = false });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
        var audit = await client.AuditAsync("decision.outcome");
        Assert.Equal(["accepted", "rejected"], audit.Select(a => a.Str("outcome")));
    }

    [Fact]
    public async Task approving_an_approved_decision_is_422_and_audited()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.95))).Id();
        var response = await client.PostAsJsonAsync($"/decisions/{id}/approve", new { });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(422, Assert.Single(await client.AuditAsync("decision.approve")).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task an_outcome_for_a_decision_awaiting_approval_is_422()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.3))).Id();
        var response = await client.PostAsJsonAsync($"/decisions/{id}/outcome", new { success = true });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }

    [Fact]
    public async Task high_risk_escalates_even_at_full_confidence()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var created = await client.ProposeAsync(DecisionSupport.Proposal(1.0, risk: "high"));
        Assert.Equal("escalated", created.Str("status"));
        Assert.Equal("high risk always escalates", created.Str("reason"));
    }

    [Fact]
    public async Task high_risk_follows_the_threshold_in_a_category_whose_policy_allows_it()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        Assert.Equal("approved", (await client.ProposeAsync(DecisionSupport.Proposal(0.9, category: "sandbox", risk: "high"))).Str("status"));
        Assert.Equal("escalated", (await client.ProposeAsync(DecisionSupport.Proposal(0.7, category: "sandbox", risk: "high"))).Str("status"));
    }

    [Fact]
    public async Task a_retried_proposal_with_the_same_idempotency_key_is_executed_once()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var proposal = DecisionSupport.Proposal(0.9, agent: "idem");
        async Task<HttpResponseMessage> Send()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/decisions") { Content = JsonContent.Create(proposal) };
            request.Headers.Add("Idempotency-Key", "propose-1");
            return await client.SendAsync(request);
        }
        var first = await Send();
        var second = await Send();
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal((await first.Json()).Id(), (await second.Json()).Id());
        Assert.True(second.Headers.Contains("Idempotent-Replayed"));
        var items = (await client.GetOkAsync("/decisions?agent=idem")).GetProperty("items");
        Assert.Equal(1, items.GetArrayLength());
    }

    [Theory]
    [InlineData("confidence", 1.5, "low")]
    [InlineData("confidence", -0.1, "low")]
    [InlineData("risk", 0.5, null)]
    public async Task a_malformed_proposal_is_400_with_the_field_and_appends_nothing(string field, double confidence, string? risk)
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var response = await client.PostAsJsonAsync("/decisions",
            new { agent = "a", category = "c", action = "x", confidence, rationale = "r", risk });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Json()).GetProperty("errors").TryGetProperty(field, out _));
        Assert.Equal(0, (await client.GetOkAsync("/decisions")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task evidence_without_a_valid_version_is_400()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var response = await client.PostAsJsonAsync("/decisions",
            DecisionSupport.Proposal(0.9, evidence: [new { memoryId = Guid.NewGuid(), version = 0 }]));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Json()).GetProperty("errors").TryGetProperty("evidence[0].version", out _));
    }

    [Fact]
    public async Task each_route_needs_its_scope()
    {
        var owner = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var tenant = (await fx.NewTenantAsync(DecisionSupport.AllScopes)).Tenant;
        var id = (await owner.ProposeAsync(DecisionSupport.Proposal(0.3))).Id();
        var reader = fx.Client((await fx.NewKeyAsync(tenant, "decisions:read")).Key);
        var writer = fx.Client((await fx.NewKeyAsync(tenant, "decisions:write")).Key);

        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/decisions", DecisionSupport.Proposal(0.9))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync($"/decisions/{id}/outcome", new { success = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await writer.PostAsJsonAsync($"/decisions/{id}/approve", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await writer.PostAsJsonAsync($"/decisions/{id}/reject", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await writer.GetAsync($"/decisions/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await writer.GetAsync("/decisions")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await writer.GetAsync("/learning/concierge")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client().GetAsync("/decisions")).StatusCode);
    }

    [Fact]
    public async Task another_tenants_decision_is_404_on_every_route()
    {
        var owner = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var other = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var id = (await owner.ProposeAsync(DecisionSupport.Proposal(0.3))).Id();

        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/decisions/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync($"/decisions/{id}/approve", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync($"/decisions/{id}/reject", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync($"/decisions/{id}/outcome", new { success = true })).StatusCode);
        Assert.Equal(0, (await other.GetOkAsync("/decisions")).GetProperty("items").GetArrayLength());
        Assert.Equal("escalated", (await owner.GetOkAsync($"/decisions/{id}")).Str("status"));
    }

    [Fact]
    public async Task the_same_agent_and_category_in_two_tenants_keep_separate_thresholds()
    {
        var a = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var b = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        for (var i = 0; i < 20; i++)
        {
            var id = (await a.ProposeAsync(DecisionSupport.Proposal(0.9, agent: "twin"))).Id();
            await a.PostAsync($"/decisions/{id}/outcome", new { success = false });
        }
        Assert.Equal(0.9, (await a.ProposeAsync(DecisionSupport.Proposal(0.5, agent: "twin"))).GetProperty("threshold").GetDouble(), 6);
        Assert.Equal(0.8, (await b.ProposeAsync(DecisionSupport.Proposal(0.5, agent: "twin"))).GetProperty("threshold").GetDouble(), 6);
    }
}

using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Changes;

/// <summary>Bad input, bad signatures, scopes and tenancy of the change routes.</summary>
public sealed class ChangeEdgeTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_stage_with_a_bad_signature_or_an_untrusted_key_is_refused_and_appends_nothing()
    {
        var tenant = await fx.NewTenantAsync(ChangeSupport.AllScopes);
        var client = fx.Client(tenant.Key);
        var trusted = new Runner();
        await trusted.TrustAsync(fx.Client((await fx.NewKeyAsync(tenant.Tenant, "admin")).Key));
        var (id, sha) = await client.ProposeChangeAsync();
        var (other, otherSha) = await client.ProposeChangeAsync();

        var stranger = new Runner();
        Assert.Contains("not in this tenant's trust store",
            (await client.PostAsync($"/changes/{id}/stages", stranger.Verdict(id, sha, "test", true), HttpStatusCode.UnprocessableEntity)).Str("detail"));
        // A verdict signed for another change, another stage, another verdict or another patch does not transfer.
        await client.PostAsync($"/changes/{id}/stages", trusted.Verdict(other, otherSha, "test", true), HttpStatusCode.UnprocessableEntity);
        await client.PostAsync($"/changes/{id}/stages", trusted.Verdict(id, new string('0', 64), "test", true), HttpStatusCode.UnprocessableEntity);
        var failed = (JsonElement)JsonSerializer.SerializeToElement(trusted.Verdict(id, sha, "test", false));
        var lied = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(failed.GetRawText())!;
        lied["passed"] = JsonSerializer.SerializeToElement(true);
        await client.PostAsync($"/changes/{id}/stages", lied, HttpStatusCode.UnprocessableEntity);
        var security = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(trusted.Verdict(id, sha, "test", true)))!;
        security["stage"] = JsonSerializer.SerializeToElement("security");
        await client.PostAsync($"/changes/{id}/stages", security, HttpStatusCode.UnprocessableEntity);

        Assert.Empty((await client.GetOkAsync($"/changes/{id}")).GetProperty("stages").EnumerateArray());
        Assert.All(await client.AuditAsync("change.record-stage"), r => Assert.Equal("rejected", r.Str("outcome")));
    }

    public static TheoryData<string, string> BadProposals => new()
    {
        { """{"title": "t", "repository": "r", "baseRevision": "b", "patch": "just text", "plan": "p", "agent": "a"}""", "patch" },
        { """{"title": "", "repository": "r", "baseRevision": "b", "patch": "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n", "plan": "p", "agent": "a"}""", "title" },
        { """{"title": "t\u0000", "repository": "r", "baseRevision": "b", "patch": "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n", "plan": "p", "agent": "a"}""", "title" },
        { """{"title": "t", "repository": "r", "baseRevision": "b", "patch": "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+\u0000\n", "plan": "p", "agent": "a"}""", "patch" },
        { """{"title": "t", "repository": "r", "baseRevision": "b", "patch": "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n", "plan": "p"}""", "agent" },
    };

    [Theory, MemberData(nameof(BadProposals))]
    public async Task a_malformed_proposal_is_400(string json, string field)
    {
        var client = fx.Client((await fx.NewTenantAsync(ChangeSupport.AllScopes)).Key);
        var response = await client.PostAsync("/changes", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body.ToString());
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
    }

    [Fact]
    public async Task malformed_stages_and_rollbacks_are_400_and_a_proposed_change_cannot_be_rolled_back()
    {
        var client = fx.Client((await fx.NewTenantAsync(ChangeSupport.AllScopes)).Key);
        var (id, _) = await client.ProposeChangeAsync();
        await client.PostAsync($"/changes/{id}/stages", new { stage = "lint", passed = true, evidence = "", runnerKeyId = new string('a', 32), signature = Convert.ToBase64String(new byte[64]) }, HttpStatusCode.BadRequest);
        await client.PostAsync($"/changes/{id}/stages", new { stage = "test", passed = true, evidence = "", runnerKeyId = "nothex", signature = "!!" }, HttpStatusCode.BadRequest);
        await client.PostAsync($"/changes/{id}/rollback", new { reason = "" }, HttpStatusCode.BadRequest);
        await client.PostAsync($"/changes/{id}/rollback", new { reason = "why not" }, HttpStatusCode.UnprocessableEntity);
    }

    [Fact]
    public async Task another_tenants_change_is_404_and_the_routes_take_their_scopes()
    {
        var owner = fx.Client((await fx.NewTenantAsync(ChangeSupport.AllScopes)).Key);
        var (id, _) = await owner.ProposeChangeAsync();
        var stranger = fx.Client((await fx.NewTenantAsync(ChangeSupport.AllScopes)).Key);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/changes/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsJsonAsync($"/changes/{id}/ship", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsJsonAsync($"/changes/{id}/rollback", new { reason = "x" })).StatusCode);

        var runnerOnly = await fx.NewTenantAsync("changes:stage");
        var runner = fx.Client(runnerOnly.Key);
        Assert.Equal(HttpStatusCode.Forbidden, (await runner.PostAsJsonAsync("/changes", ChangeSupport.Proposal())).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await runner.PostAsJsonAsync($"/changes/{id}/ship", new { })).StatusCode);
        var writerOnly = fx.Client((await fx.NewTenantAsync("changes:write")).Key);
        Assert.Equal(HttpStatusCode.Forbidden, (await writerOnly.PostAsJsonAsync($"/changes/{id}/stages", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Client((await fx.NewTenantAsync("memory:read")).Key).GetAsync($"/changes/{id}")).StatusCode);
    }

    [Fact]
    public async Task the_agent_profile_counts_its_changes()
    {
        var client = fx.Client((await fx.NewTenantAsync(ChangeSupport.AllScopes)).Key);
        await client.ProposeChangeAsync(agent: "coder");
        await client.ProposeChangeAsync(agent: "coder");
        var profile = await client.GetOkAsync("/agents/coder");
        Assert.Equal("unregistered", profile.Str("status"));
        Assert.Equal(2, profile.GetProperty("changes").GetProperty("proposed").GetInt32());
        Assert.Equal(0, profile.GetProperty("changes").GetProperty("shipped").GetInt32());
    }
}

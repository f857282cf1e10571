using Aetherra.Application.SelfModel;
using Aetherra.Integration.Tests.Decisions;
using JasperFx.Events.Daemon;
using Wolverine.Runtime;
using Wolverine.Runtime.Agents;

namespace Aetherra.Integration.Tests.SelfModel;

/// <summary>Issue 18: the self-model's figures are those of the read models it summarises, and replay the same.</summary>
public sealed class SelfModelTests(AetherraFixture fx)
{
    private HttpClient Operator => fx.Client(fx.AdminKey);

    private async Task<long> SnapshotAsync()
    {
        var response = await Operator.PostAsJsonAsync("/self/snapshot", new { });
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body.GetProperty("sequence").GetInt64();
    }

    private static async Task<long> ResolvedAsync(HttpClient client, string agent, bool success)
    {
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.9, agent: agent))).Id();
        return (await client.PostAsync($"/decisions/{id}/outcome", new { success })).GetProperty("sequence").GetInt64();
    }

    [Fact]
    public async Task the_snapshot_figures_are_the_learning_loops_the_tenants_and_homeostasis_and_move_between_snapshots()
    {
        var key = await fx.NewTenantAsync([.. DecisionSupport.AllScopes, "homeostasis:read"]);
        var client = fx.Client(key.Key);
        var agent = "self-" + Guid.NewGuid().ToString("N")[..8];
        await client.RecordAsync(Api.Memory("the first thing I know", "self-subject"));
        await client.RecordAsync(Api.Memory("the second thing I know", "self-subject"));
        await ResolvedAsync(client, agent, success: true);
        await ResolvedAsync(client, agent, success: true);
        var sequence = await ResolvedAsync(client, agent, success: false);
        var escalated = await client.ProposeAsync(DecisionSupport.Proposal(0.05, agent: agent, risk: "high"));
        Assert.Equal("escalated", escalated.Str("status"));
        var learning = (await client.GetOkAsync($"/learning/{agent}?minSequence={escalated.GetProperty("sequence").GetInt64()}"))
            .GetProperty("categories").EnumerateArray().Single();

        // Homeostasis is the installation's, and parallel tests move its vitals: read it on both sides of the snapshot.
        var homeostasisBefore = await (await Operator.GetAsync("/homeostasis")).Json();
        var snapshot = await SnapshotAsync();
        var homeostasis = await (await Operator.GetAsync("/homeostasis")).Json();
        var self = await client.GetOkAsync($"/self?minSequence={snapshot}");
        var trust = Assert.Single(self.GetProperty("agents").EnumerateArray());
        Assert.Equal(agent, trust.Str("agent"));
        Assert.Equal(learning.Str("category"), trust.Str("category"));
        Assert.Equal(learning.GetProperty("resolved").GetInt32(), trust.GetProperty("resolved").GetInt32());
        var brier = learning.GetProperty("brier").GetDouble();
        Assert.Equal((0.01 + 0.01 + 0.81) / 3, brier, 9);
        Assert.Equal(brier, trust.GetProperty("brier").GetDouble(), 9);
        Assert.Equal(1 - brier, trust.GetProperty("selfTrust").GetDouble(), 6);
        Assert.Equal(learning.GetProperty("successRate").GetDouble(), trust.GetProperty("successRate").GetDouble(), 9);
        Assert.Equal(2, self.GetProperty("memory").GetProperty("active").GetInt64());
        Assert.Equal(1, self.GetProperty("escalations").GetProperty("open").GetInt64());

        var figures = self.GetProperty("homeostasis");
        Assert.Contains(figures.Str("state"), new[] { homeostasisBefore.Str("state"), homeostasis.Str("state") });
        Assert.Equal(
            homeostasis.GetProperty("vitals").EnumerateArray().Select(v => $"{v.Str("name")}@{v.Str("node")}").Order(),
            figures.GetProperty("vitals").EnumerateArray().Select(v => $"{v.Str("name")}@{v.Str("node")}").Order());
        Assert.Contains(self.GetProperty("projections").EnumerateArray(), p => p.Str("name") == "LearningLoop");

        // One more success and one more memory: the next snapshot says how self-trust and memory moved.
        await client.RecordAsync(Api.Memory("a third thing", "self-subject"));
        var after = await ResolvedAsync(client, agent, success: true);
        var learnt = (await client.GetOkAsync($"/learning/{agent}?minSequence={after}")).GetProperty("categories").EnumerateArray().Single();
        var next = await client.GetOkAsync($"/self?minSequence={await SnapshotAsync()}");
        var moved = Assert.Single(next.GetProperty("agents").EnumerateArray());
        var newBrier = learnt.GetProperty("brier").GetDouble();
        Assert.Equal(newBrier, moved.GetProperty("brier").GetDouble(), 9);
        Assert.Equal((1 - newBrier) - (1 - brier), moved.GetProperty("movement").GetDouble(), 5);
        Assert.Equal(3, next.GetProperty("memory").GetProperty("active").GetInt64());
        Assert.Equal(1, next.GetProperty("memory").GetProperty("growth").GetInt64());
        var trend = next.GetProperty("trend").EnumerateArray().TakeLast(2).ToList();
        Assert.Equal([2L, 3L], trend.Select(t => t.GetProperty("activeMemories").GetInt64()));
    }

    [Fact]
    public async Task a_rebuild_of_the_self_model_gives_the_same_series_and_a_tenant_sees_only_its_own_part()
    {
        var a = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var agent = "rebuilt-" + Guid.NewGuid().ToString("N")[..8];
        var sequence = await ResolvedAsync(a, agent, success: true);
        await a.GetOkAsync($"/learning/{agent}?minSequence={sequence}");
        await SnapshotAsync();
        var before = await a.GetOkAsync($"/self?minSequence={await SnapshotAsync()}");
        Assert.Contains(before.GetProperty("agents").EnumerateArray(), x => x.Str("agent") == agent);

        var services = fx.Host.Services;
        var family = services.GetServices<IAgentFamily>().OfType<IEventSubscriptionAgentFamily>().Single();
        var uri = await family.FindAgentUriAsync($"{SelfModelProjection.ProjectionName}:All", null, TestContext.Current.CancellationToken);
        Assert.NotNull(uri);
        Assert.True(services.GetRequiredService<IWolverineRuntime>().Agents.TryFindActiveAgent<IEventSubscriptionAgent>(uri, out var daemon));
        await daemon.RebuildAsync(TestContext.Current.CancellationToken);
        var after = await a.GetOkAsync("/self");
        Assert.Equal(before.GetRawText(), after.GetRawText());

        var b = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var theirs = await b.GetOkAsync("/self");
        Assert.Empty(theirs.GetProperty("agents").EnumerateArray());
        Assert.Equal(0, theirs.GetProperty("memory").GetProperty("active").GetInt64());
        Assert.DoesNotContain(agent, theirs.GetRawText());
        Assert.Equal(HttpStatusCode.Forbidden, (await a.PostAsJsonAsync("/self/snapshot", new { })).StatusCode);
    }
}

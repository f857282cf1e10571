using Aetherra.Application.Common;
using Aetherra.Application.Decisions;
using Aetherra.Application.Learning;
using Marten;
using Npgsql;
using Wolverine.Runtime;
using Wolverine.Runtime.Agents;

namespace Aetherra.Integration.Tests.Decisions;

public sealed class LearningLoopTests(AetherraFixture fx)
{
    /// <summary>Twenty auto-approved decisions at 0.9 that all fail: the rule raises the threshold from 0.8 to 0.9.</summary>
    private static async Task<long> FailTwentyAsync(HttpClient client, string agent)
    {
        long sequence = 0;
        for (var i = 0; i < 20; i++)
        {
            var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.9, agent: agent))).Id();
            sequence = (await client.PostAsync($"/decisions/{id}/outcome", new { success = false })).GetProperty("sequence").GetInt64();
        }
        return sequence;
    }

    private static JsonElement Category(JsonElement learning, string name) =>
        learning.GetProperty("categories").EnumerateArray().Single(c => c.Str("category") == name);

    [Fact]
    public async Task failures_raise_the_threshold_and_the_learning_loop_shows_the_statistics_and_the_change()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        await FailTwentyAsync(client, "learner");
        var escalated = await client.ProposeAsync(DecisionSupport.Proposal(0.85, agent: "learner"));
        Assert.Equal("escalated", escalated.Str("status"));
        Assert.Equal(0.9, escalated.GetProperty("threshold").GetDouble(), 6);

        var learning = await client.GetOkAsync($"/learning/learner?minSequence={escalated.GetProperty("sequence").GetInt64()}");
        Assert.Equal("learner", learning.Str("agent"));
        var booking = Category(learning, "booking");
        Assert.Equal(21, booking.GetProperty("decisions").GetInt32());
        Assert.Equal(20, booking.GetProperty("autoApproved").GetInt32());
        Assert.Equal(1, booking.GetProperty("escalated").GetInt32());
        Assert.Equal(20, booking.GetProperty("resolved").GetInt32());
        Assert.Equal(0, booking.GetProperty("successRate").GetDouble());
        Assert.Equal(0.81, booking.GetProperty("brier").GetDouble(), 6);
        Assert.Equal(1, booking.GetProperty("autoApprovedFailureRate").GetDouble());
        Assert.Equal(0.9, booking.GetProperty("threshold").GetDouble(), 6);
        var bin = booking.GetProperty("reliability")[9];
        Assert.Equal(20, bin.GetProperty("count").GetInt32());
        Assert.Equal(0.9, bin.GetProperty("meanConfidence").GetDouble(), 6);
        Assert.Equal(0, bin.GetProperty("observedSuccess").GetDouble());
        var change = Assert.Single(booking.GetProperty("thresholdHistory").EnumerateArray());
        Assert.Equal(0.8, change.GetProperty("from").GetDouble(), 6);
        Assert.Equal(0.9, change.GetProperty("to").GetDouble(), 6);
        Assert.Contains("raising", change.Str("reason"));
        Assert.Equal(20, change.GetProperty("resolvedSample").GetInt32());
    }

    [Fact]
    public async Task concurrent_outcomes_of_one_agent_and_category_each_see_the_others_so_none_is_left_out_of_the_rule()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var ids = new List<Guid>();
        for (var i = 0; i < 20; i++) ids.Add((await client.ProposeAsync(DecisionSupport.Proposal(0.9, agent: "racer"))).Id());

        var outcomes = await Task.WhenAll(ids.Select(id => client.PostAsJsonAsync($"/decisions/{id}/outcome", new { success = false })));
        Assert.All(outcomes, o => Assert.Equal(HttpStatusCode.OK, o.StatusCode));

        // Whichever outcome committed last saw all twenty: the threshold moved exactly once, on a sample of twenty.
        var next = await client.ProposeAsync(DecisionSupport.Proposal(0.5, agent: "racer"));
        Assert.Equal(0.9, next.GetProperty("threshold").GetDouble(), 6);
        var booking = Category(await client.GetOkAsync($"/learning/racer?minSequence={next.GetProperty("sequence").GetInt64()}"), "booking");
        Assert.Equal(20, booking.GetProperty("resolved").GetInt32());
        var change = Assert.Single(booking.GetProperty("thresholdHistory").EnumerateArray());
        Assert.Equal(20, change.GetProperty("resolvedSample").GetInt32());
    }

    [Fact]
    public async Task a_proven_record_lowers_the_threshold_from_human_approved_escalations()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        // Every escalation approved by a human and successful: once the record is proven (36 or so out of 36 at z = 2)
        // the threshold comes down one step, to 0.7.
        long sequence = 0;
        double threshold = 0.8;
        for (var i = 0; i < 60 && threshold >= 0.8; i++)
        {
            var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.6, agent: "modest"))).Id();
            await client.PostAsync($"/decisions/{id}/approve", new { });
            var outcome = await client.PostAsync($"/decisions/{id}/outcome", new { success = true });
            sequence = outcome.GetProperty("sequence").GetInt64();
            threshold = outcome.GetProperty("threshold").GetDouble();
        }
        Assert.Equal(0.7, threshold, 6);
        var next = await client.ProposeAsync(DecisionSupport.Proposal(0.7, agent: "modest"));
        Assert.Equal("approved", next.Str("status"));
        Assert.Equal(0.7, next.GetProperty("threshold").GetDouble(), 6);
        var booking = Category(await client.GetOkAsync($"/learning/modest?minSequence={sequence}"), "booking");
        Assert.Contains("lowering", booking.GetProperty("thresholdHistory")[0].Str("reason"));
    }

    [Fact]
    public async Task an_agent_without_decisions_has_nothing_learnt()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        Assert.Equal(0, (await client.GetOkAsync("/learning/nobody")).GetProperty("categories").GetArrayLength());
    }

    [Fact]
    public async Task a_rebuild_of_the_learning_loop_from_events_gives_the_same_thresholds_and_statistics()
    {
        var client = fx.Client((await fx.NewTenantAsync(DecisionSupport.AllScopes)).Key);
        var sequence = await FailTwentyAsync(client, "replayed");
        var before = Category(await client.GetOkAsync($"/learning/replayed?minSequence={sequence}"), "booking");

        var services = fx.Host.Services;
        var family = services.GetServices<IAgentFamily>().OfType<IEventSubscriptionAgentFamily>().Single();
        var uri = await family.FindAgentUriAsync($"{LearningLoopProjection.ProjectionName}:All", null, TestContext.Current.CancellationToken);
        Assert.NotNull(uri);
        Assert.True(services.GetRequiredService<IWolverineRuntime>().Agents.TryFindActiveAgent<IEventSubscriptionAgent>(uri, out var agent));
        await agent.RebuildAsync(TestContext.Current.CancellationToken);

        var after = Category(await client.GetOkAsync($"/learning/replayed?minSequence={sequence}"), "booking");
        Assert.Equal(before.GetRawText(), after.GetRawText());
        Assert.Equal(0.9, after.GetProperty("threshold").GetDouble(), 6);
    }

    [Fact]
    public async Task homeostasis_can_raise_a_threshold_with_a_reason_and_read_the_recent_failure_rate()
    {
        var key = await fx.NewTenantAsync(DecisionSupport.AllScopes);
        var client = fx.Client(key.Key);
        var id = (await client.ProposeAsync(DecisionSupport.Proposal(0.95, agent: "watched"))).Id();
        await client.PostAsync($"/decisions/{id}/outcome", new { success = false });

        var services = fx.Host.Services;
        var rates = await AutoApprovedFailures.RecentAsync(services.GetRequiredService<NpgsqlDataSource>(), 50, null, TestContext.Current.CancellationToken);
        var rate = Assert.Single(rates, r => r.Tenant == key.Tenant);
        Assert.Equal(("watched", "booking", 1, 1), (rate.Agent, rate.Category, rate.Resolved, rate.Failures));
        Assert.Equal(1, rate.FailureRate);

        var command = new CommandContext("homeostasis", key.Tenant, Guid.NewGuid(), DecisionActions.RaiseThreshold);
        var raised = await RaiseAutonomyThreshold.Handle("watched", "booking", 0.15, "auto-approved failures above setpoint", command,
            services.GetRequiredService<IDocumentStore>(), services.GetRequiredService<AutonomySettings>(), TimeProvider.System,
            TestContext.Current.CancellationToken);
        Assert.True(raised.Moved);
        Assert.Equal(0.95, raised.To, 6);

        var next = await client.ProposeAsync(DecisionSupport.Proposal(0.9, agent: "watched"));
        Assert.Equal("escalated", next.Str("status"));
        var change = Category(await client.GetOkAsync($"/learning/watched?minSequence={next.GetProperty("sequence").GetInt64()}"), "booking")
            .GetProperty("thresholdHistory")[0];
        Assert.Equal("homeostasis", change.Str("by"));
        Assert.Equal("auto-approved failures above setpoint", change.Str("reason"));
        Assert.Contains(await client.AuditAsync(DecisionActions.RaiseThreshold), a => a.Str("actor") == "homeostasis");
    }
}

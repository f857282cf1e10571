using Aetherra.Integration.Tests.Decisions;
using Aetherra.Integration.Tests.Tasks;

namespace Aetherra.Integration.Tests.Agents;

public sealed class AgentTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_suspended_agent_has_its_decisions_escalated_and_its_claims_refused_until_resumed()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        Assert.Equal("concierge", (await client.PostAsync("/agents", new { name = "concierge", description = "books tables" }, HttpStatusCode.Created)).Str("name"));
        await client.CreateTaskAsync(new { title = "book" });
        Assert.Equal("approved", (await client.ProposeAsync(DecisionSupport.Proposal(0.95))).Str("status"));

        Assert.Equal("suspended", (await client.PostAsync("/agents/concierge/suspend", new { reason = "double bookings" })).Str("status"));
        var escalated = await client.ProposeAsync(DecisionSupport.Proposal(0.99));
        Assert.Equal("escalated", escalated.Str("status"));
        Assert.Contains("suspended", escalated.Str("reason"));
        var refused = await client.PostAsJsonAsync("/tasks/claim", new { agent = "concierge" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("suspended", (await refused.Json()).Str("detail"));
        await client.PostAsync("/agents/concierge/suspend", new { }, HttpStatusCode.UnprocessableEntity);

        Assert.Equal("active", (await client.PostAsync("/agents/concierge/resume", new { })).Str("status"));
        Assert.NotNull(await client.ClaimAsync("concierge"));
        Assert.Equal("approved", (await client.ProposeAsync(DecisionSupport.Proposal(0.95))).Str("status"));
    }

    [Fact]
    public async Task the_profile_gathers_memories_decisions_calibration_and_tasks()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        await client.PostAsync("/agents", new { name = "concierge" }, HttpStatusCode.Created);
        await client.RecordAsync(Api.Memory("she likes window seats", agent: "concierge"));
        var decision = await client.ProposeAsync(DecisionSupport.Proposal(0.9));
        var outcome = await client.PostAsync($"/decisions/{decision.Id()}/outcome", new { success = true });
        await client.ProposeAsync(DecisionSupport.Proposal(0.1));
        var done = await client.CreateTaskAsync(new { title = "done" });
        await client.CreateTaskAsync(new { title = "running", priority = 1 });
        await client.CreateTaskAsync(new { title = "queued for it", agent = "concierge", priority = 0 });
        await client.ClaimAsync("concierge");
        await client.PostAsync($"/tasks/{done}/complete", new { });
        await client.ClaimAsync("concierge");

        await fx.WaitForProjectionAsync(Aetherra.Application.Learning.LearningLoopProjection.ProjectionName, outcome.GetProperty("sequence").GetInt64());
        var profile = await client.GetOkAsync("/agents/concierge");
        Assert.Equal("active", profile.Str("status"));
        Assert.Equal(1, profile.GetProperty("memories").GetInt32());
        Assert.Equal(2, profile.GetProperty("decisions").GetInt32());
        Assert.Equal(1, profile.GetProperty("escalated").GetInt32());
        var booking = profile.GetProperty("calibration").EnumerateArray().Single();
        Assert.Equal("booking", booking.Str("category"));
        Assert.Equal(1.0, booking.GetProperty("successRate").GetDouble());
        Assert.True(booking.GetProperty("brier").GetDouble() < 0.05);
        var tasks = profile.GetProperty("tasks");
        Assert.Equal(1, tasks.GetProperty("completed").GetInt32());
        Assert.Equal(1, tasks.GetProperty("running").GetInt32());
        Assert.Equal(1, tasks.GetProperty("queued").GetInt32());
    }

    [Fact]
    public async Task names_never_registered_keep_working_and_show_as_unregistered()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        Assert.Equal("approved", (await client.ProposeAsync(DecisionSupport.Proposal(0.9, agent: "legacy-bot"))).Str("status"));
        await client.CreateTaskAsync(new { title = "x" });
        Assert.NotNull(await client.ClaimAsync("legacy-bot"));
        Assert.Equal("unregistered", (await client.GetOkAsync("/agents/legacy-bot")).Str("status"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/agents/nobody")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/agents/nobody/suspend", new { })).StatusCode);
    }

    [Fact]
    public async Task registration_refuses_bad_names_and_a_second_registration_and_keeps_tenants_apart()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        await client.PostAsync("/agents", new { name = "has space" }, HttpStatusCode.BadRequest);
        await client.PostAsync("/agents", new { name = "" }, HttpStatusCode.BadRequest);
        await client.PostAsync("/agents", new { name = "ok", description = "nul \u0000" }, HttpStatusCode.BadRequest);
        await client.PostAsync("/agents", new { name = "ok" }, HttpStatusCode.Created);
        await client.PostAsync("/agents", new { name = "ok" }, HttpStatusCode.UnprocessableEntity);

        var other = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync("/agents/ok")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync("/agents/ok/suspend", new { })).StatusCode);
        await other.PostAsync("/agents", new { name = "ok" }, HttpStatusCode.Created);
        var audit = await client.AuditAsync("agent.register");
        Assert.Equal(1, audit.Count(r => r.Str("outcome") == "accepted"));
        Assert.Equal(4, audit.Count(r => r.Str("outcome") == "rejected"));
    }
}

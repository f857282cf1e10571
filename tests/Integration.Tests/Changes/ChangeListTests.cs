using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Changes;

/// <summary>GET /changes: the tenant's changes by status and agent, a page at a time, under the change read scopes.</summary>
public sealed class ChangeListTests(AetherraFixture fx)
{
    [Fact]
    public async Task changes_are_listed_oldest_first_filtered_by_status_and_agent_and_paged_with_a_cursor()
    {
        var tenant = await fx.NewTenantAsync(ChangeSupport.AllScopes);
        var admin = fx.Client((await fx.NewKeyAsync(tenant.Tenant, "admin")).Key);
        var client = fx.Client(tenant.Key);
        var runner = new Runner();
        await runner.TrustAsync(admin);
        var first = await client.ProposeChangeAsync(agent: "coder");
        var second = await client.ProposeChangeAsync(agent: "coder");
        var third = await client.ProposeChangeAsync(agent: "refactorer");
        await client.PassAllStagesAsync(runner, second.Id, second.PatchSha256);
        await client.DecideAsync(second.Id);
        await client.PostAsync($"/changes/{second.Id}/ship", new { });

        var all = await client.GetOkAsync("/changes");
        Assert.Equal([first.Id, second.Id, third.Id], all.GetProperty("items").EnumerateArray().Select(c => c.Id()));
        Assert.Equal(JsonValueKind.Null, all.GetProperty("next").ValueKind);
        var shipped = all.GetProperty("items")[1];
        Assert.Equal("shipped", shipped.Str("status"));
        Assert.Equal(second.PatchSha256, shipped.Str("patchSha256"));
        Assert.Equal(["test", "security", "review"], shipped.GetProperty("stages").EnumerateArray().Select(s => s.Str("stage")));
        Assert.False(shipped.TryGetProperty("patch", out _), "the list leaves the patch to GET /changes/{id}");

        Assert.Equal([second.Id], (await client.GetOkAsync("/changes?status=shipped")).GetProperty("items").EnumerateArray().Select(c => c.Id()));
        Assert.Equal([first.Id, third.Id],
            (await client.GetOkAsync("/changes?status=proposed")).GetProperty("items").EnumerateArray().Select(c => c.Id()));
        Assert.Equal([third.Id], (await client.GetOkAsync("/changes?agent=refactorer")).GetProperty("items").EnumerateArray().Select(c => c.Id()));
        Assert.Empty((await client.GetOkAsync("/changes?status=rolled-back")).GetProperty("items").EnumerateArray());

        var page1 = await client.GetOkAsync("/changes?limit=2");
        Assert.Equal([first.Id, second.Id], page1.GetProperty("items").EnumerateArray().Select(c => c.Id()));
        var page2 = await client.GetOkAsync($"/changes?limit=2&after={page1.GetProperty("next").GetInt64()}");
        Assert.Equal([third.Id], page2.GetProperty("items").EnumerateArray().Select(c => c.Id()));
    }

    [Fact]
    public async Task the_list_shows_only_the_callers_tenant_takes_a_read_scope_and_refuses_bad_filters()
    {
        var owner = fx.Client((await fx.NewTenantAsync(ChangeSupport.AllScopes)).Key);
        await owner.ProposeChangeAsync();
        var stranger = fx.Client((await fx.NewTenantAsync(ChangeSupport.AllScopes)).Key);
        Assert.Empty((await stranger.GetOkAsync("/changes")).GetProperty("items").EnumerateArray());

        foreach (var scope in new[] { "changes:write", "changes:stage", "tasks:read" })
            Assert.Equal(HttpStatusCode.OK, (await fx.Client((await fx.NewTenantAsync(scope)).Key).GetAsync("/changes")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Client((await fx.NewTenantAsync("memory:read")).Key).GetAsync("/changes")).StatusCode);

        foreach (var bad in new[] { "status=merged", "status=Shipped", "limit=0", "limit=201", "after=-1", $"agent={new string('a', 201)}" })
        {
            var response = await owner.GetAsync($"/changes?{bad}");
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{bad} answered {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }
}

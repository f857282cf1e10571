using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Tasks;

/// <summary>Bad input, scopes, tenancy and the audit trail of the task routes.</summary>
public sealed class TaskEdgeTests(AetherraFixture fx)
{
    public static TheoryData<string, string> BadTasks => new()
    {
        { """{"title": ""}""", "title" },
        { """{"title": "x", "priority": 10}""", "priority" },
        { """{"title": "x", "priority": -1}""", "priority" },
        { """{"title": "x", "maxAttempts": 0}""", "maxAttempts" },
        { """{"title": "nul \u0000 here"}""", "title" },
        { """{"title": "x", "input": {"k": "nul \u0000 here"}}""", "input.k" },
        { """{"title": "x", "dependsOn": ["00000000-0000-0000-0000-000000000000"]}""", "dependsOn[0]" },
    };

    [Theory, MemberData(nameof(BadTasks))]
    public async Task a_malformed_task_is_400_and_appends_nothing(string json, string field)
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var response = await client.PostAsync("/tasks", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body.ToString());
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
        Assert.Empty((await client.GetOkAsync("/tasks")).GetProperty("items").EnumerateArray());
        Assert.Equal("rejected", (await client.AuditAsync("task.create")).Single().Str("outcome"));
    }

    [Fact]
    public async Task a_dependency_on_another_tenants_task_or_a_passed_deadline_is_422()
    {
        var other = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var theirs = await other.CreateTaskAsync(new { title = "theirs" });
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        await client.PostAsync("/tasks", new { title = "x", dependsOn = new[] { theirs } }, HttpStatusCode.UnprocessableEntity);
        await client.PostAsync("/tasks", new { title = "x", deadline = DateTimeOffset.UtcNow.AddMinutes(-1) }, HttpStatusCode.UnprocessableEntity);
        await client.PostAsync("/tasks/claim", new { agent = "" }, HttpStatusCode.BadRequest);
        await client.PostAsync("/tasks/claim", new { agent = "w", leaseSeconds = 0 }, HttpStatusCode.BadRequest);
        await client.PostAsync($"/tasks/{theirs}/fail", new { error = "" }, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task another_tenants_task_is_404_and_never_claimed()
    {
        var other = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var theirs = await other.CreateTaskAsync(new { title = "theirs" });
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/tasks/{theirs}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync($"/tasks/{theirs}/cancel", new { })).StatusCode);
        Assert.Null(await client.ClaimAsync("worker"));
        Assert.Equal(theirs, (await other.ClaimAsync("worker"))!.Value.Id());
    }

    [Fact]
    public async Task the_task_routes_take_their_scopes()
    {
        var reader = fx.Client((await fx.NewTenantAsync("tasks:read")).Key);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/tasks", new { title = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/tasks/claim", new { agent = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/tasks")).StatusCode);
        var writer = fx.Client((await fx.NewTenantAsync("tasks:write")).Key);
        Assert.Equal(HttpStatusCode.Forbidden, (await writer.GetAsync("/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client().PostAsJsonAsync("/tasks/claim", new { agent = "x" })).StatusCode);
    }

    [Fact]
    public async Task every_task_command_is_audited_with_its_actor()
    {
        var key = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var client = fx.Client(key.Key);
        var id = await client.CreateTaskAsync(new { title = "audited" });
        await client.ClaimAsync("worker");
        Assert.Null(await client.ClaimAsync("worker"));
        await client.PostAsync($"/tasks/{id}/complete", new { });

        var claims = await client.AuditAsync("task.claim");
        Assert.Equal([200, 204], claims.Select(c => c.GetProperty("status").GetInt32()));
        Assert.Equal(id.ToString(), claims[0].Str("target"));
        Assert.All(claims, c => Assert.Equal(key.KeyId.ToString(), c.Str("actor")));
        Assert.Single(await client.AuditAsync("task.create"));
        Assert.Single(await client.AuditAsync("task.complete"));
    }
}

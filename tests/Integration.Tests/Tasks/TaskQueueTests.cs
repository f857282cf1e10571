using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Tasks;

public sealed class TaskQueueTests(AetherraFixture fx)
{
    [Fact]
    public async Task claims_take_the_highest_priority_first_then_the_oldest_and_204_when_none_is_ready()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var low = await client.CreateTaskAsync(new { title = "low", priority = 1 });
        var highOld = await client.CreateTaskAsync(new { title = "high, older", priority = 9, input = new { file = "a.cs" } });
        var normal = await client.CreateTaskAsync(new { title = "default priority" });
        var highNew = await client.CreateTaskAsync(new { title = "high, newer", priority = 9 });

        var order = new List<Guid>();
        while (await client.ClaimAsync("worker") is { } claimed) order.Add(claimed.Id());
        Assert.Equal([highOld, highNew, normal, low], order);

        var task = await client.GetOkAsync($"/tasks/{highOld}");
        Assert.Equal("claimed", task.Str("status"));
        Assert.Equal("worker", task.Str("claimedBy"));
        Assert.Equal("a.cs", task.GetProperty("input").GetProperty("file").GetString());
        Assert.Equal(["created", "claimed"], task.GetProperty("history").EnumerateArray().Select(h => h.Str("type")));
    }

    [Fact]
    public async Task a_task_waits_for_its_dependencies_and_is_released_when_they_complete()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var first = await client.CreateTaskAsync(new { title = "build", priority = 1 });
        var created = await client.PostAsync("/tasks", new { title = "deploy", priority = 9, dependsOn = new[] { first } }, HttpStatusCode.Created);
        Assert.Equal("waiting", created.Str("status"));

        var claimed = (await client.ClaimAsync("worker"))!.Value;
        Assert.Equal(first, claimed.Id());
        Assert.Null(await client.ClaimAsync("worker"));

        var done = await client.PostAsync($"/tasks/{first}/complete", new { output = new { ok = true }, agent = "worker", attempt = 1 });
        Assert.Equal("completed", done.Str("status"));
        Assert.Equal(created.Id(), (await client.ClaimAsync("worker"))!.Value.Id());
    }

    [Fact]
    public async Task a_failed_attempt_is_retried_until_the_limit_then_fails_for_good()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var id = await client.CreateTaskAsync(new { title = "flaky", maxAttempts = 2 });

        Assert.Equal(1, (await client.ClaimAsync("worker"))!.Value.GetProperty("attempt").GetInt32());
        var retried = await client.PostAsync($"/tasks/{id}/fail", new { error = "timeout", retryAfterSeconds = 0 });
        Assert.Equal("queued", retried.Str("status"));

        Assert.Equal(2, (await client.ClaimAsync("worker"))!.Value.GetProperty("attempt").GetInt32());
        var final = await client.PostAsync($"/tasks/{id}/fail", new { error = "timeout again", retryAfterSeconds = 0 });
        Assert.Equal("failed", final.Str("status"));
        Assert.Null(await client.ClaimAsync("worker"));

        var task = await client.GetOkAsync($"/tasks/{id}");
        Assert.Equal("timeout again", task.Str("error"));
        Assert.Equal(["created", "claimed", "retrying", "claimed", "failed"], task.GetProperty("history").EnumerateArray().Select(h => h.Str("type")));
    }

    [Fact]
    public async Task a_retry_waits_out_its_backoff_and_a_final_failure_is_not_retried()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var id = await client.CreateTaskAsync(new { title = "later" });
        await client.ClaimAsync("worker");
        await client.PostAsync($"/tasks/{id}/fail", new { error = "rate limited", retryAfterSeconds = 3600 });
        Assert.Null(await client.ClaimAsync("worker"));
        Assert.True((await client.GetOkAsync($"/tasks/{id}")).GetProperty("notBefore").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(59));

        var other = await client.CreateTaskAsync(new { title = "hopeless" });
        await client.ClaimAsync("worker");
        Assert.Equal("failed", (await client.PostAsync($"/tasks/{other}/fail", new { error = "bad input", retry = false })).Str("status"));
    }

    [Fact]
    public async Task a_claimer_that_disappears_loses_the_task_to_another_when_its_lease_runs_out()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var id = await client.CreateTaskAsync(new { title = "long job" });
        // A lease long enough that agent-b's first try falls inside it even when requests are slow.
        var first = (await client.ClaimAsync("agent-a", leaseSeconds: 4))!.Value;
        Assert.Null(await client.ClaimAsync("agent-b"));

        // agent-a goes silent: no heartbeat, no answer. Its lease runs out and the task goes to agent-b.
        await TaskSupport.LeaseRunsOutAsync(first);
        var second = (await client.ClaimAsync("agent-b", leaseSeconds: 60))!.Value;
        Assert.Equal(id, second.Id());
        Assert.Equal(2, second.GetProperty("attempt").GetInt32());

        // agent-a comes back: its attempt is over, whatever it says.
        var late = await client.PostAsJsonAsync($"/tasks/{id}/complete", new { agent = "agent-a", attempt = 1 });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, late.StatusCode);
        var stale = await client.PostAsJsonAsync($"/tasks/{id}/heartbeat", new { attempt = 1 });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, stale.StatusCode);

        await client.PostAsync($"/tasks/{id}/heartbeat", new { agent = "agent-b", attempt = 2, leaseSeconds = 120 });
        Assert.Equal("completed", (await client.PostAsync($"/tasks/{id}/complete", new { agent = "agent-b", attempt = 2 })).Str("status"));
        var task = await client.GetOkAsync($"/tasks/{id}");
        Assert.Equal(["created", "claimed", "lease-expired", "claimed", "completed"], task.GetProperty("history").EnumerateArray().Select(h => h.Str("type")));
        Assert.Equal("agent-b", task.Str("claimedBy"));
    }

    [Fact]
    public async Task a_task_whose_lease_ran_out_is_claimed_again_in_its_place_among_the_queued_ones()
    {
        // The claim walks the queued tasks and the claims whose lease ran out separately (TaskQueue.NextSql): the two
        // must still come out as one queue, highest priority first.
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var middle = await client.CreateTaskAsync(new { title = "middle", priority = 5 });
        var first = (await client.ClaimAsync("agent-a", leaseSeconds: 2))!.Value;
        Assert.Equal(middle, first.Id());
        var low = await client.CreateTaskAsync(new { title = "low", priority = 3 });
        var high = await client.CreateTaskAsync(new { title = "high", priority = 9 });
        await TaskSupport.LeaseRunsOutAsync(first);

        var order = new List<(Guid Id, int Attempt)>();
        while (await client.ClaimAsync("agent-b", leaseSeconds: 60) is { } claimed) order.Add((claimed.Id(), claimed.GetProperty("attempt").GetInt32()));
        Assert.Equal([(high, 1), (middle, 2), (low, 1)], order);
    }

    [Fact]
    public async Task a_lease_that_runs_out_on_the_last_attempt_fails_the_task_for_good()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var id = await client.CreateTaskAsync(new { title = "one shot", maxAttempts = 1 });
        var claim = (await client.ClaimAsync("agent-a", leaseSeconds: 1))!.Value;
        await TaskSupport.LeaseRunsOutAsync(claim);

        Assert.Null(await client.ClaimAsync("agent-b"));
        var task = await client.GetOkAsync($"/tasks/{id}");
        Assert.Equal("failed", task.Str("status"));
        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task a_cancelled_task_is_never_claimed_and_its_claimer_cannot_complete_it()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var id = await client.CreateTaskAsync(new { title = "obsolete" });
        await client.ClaimAsync("worker");
        Assert.Equal("cancelled", (await client.PostAsync($"/tasks/{id}/cancel", new { reason = "no longer needed" })).Str("status"));
        var complete = await client.PostAsJsonAsync($"/tasks/{id}/complete", new { });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, complete.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsJsonAsync($"/tasks/{id}/cancel", new { })).StatusCode);
        Assert.Null(await client.ClaimAsync("worker"));
    }

    [Fact]
    public async Task a_task_for_one_agent_is_claimed_by_that_agent_only()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var id = await client.CreateTaskAsync(new { title = "review", agent = "reviewer" });
        Assert.Null(await client.ClaimAsync("coder"));
        Assert.Equal(id, (await client.ClaimAsync("reviewer"))!.Value.Id());
    }

    [Fact]
    public async Task lists_filter_by_status_and_agent()
    {
        var client = fx.Client((await fx.NewTenantAsync(TaskSupport.AllScopes)).Key);
        var a = await client.CreateTaskAsync(new { title = "a", priority = 9 });
        var b = await client.CreateTaskAsync(new { title = "b" });
        await client.ClaimAsync("worker");
        Assert.Equal([a], (await client.GetOkAsync("/tasks?status=claimed&agent=worker")).GetProperty("items").EnumerateArray().Select(i => i.Id()));
        Assert.Equal([b], (await client.GetOkAsync("/tasks?status=queued")).GetProperty("items").EnumerateArray().Select(i => i.Id()));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/tasks?status=sleeping")).StatusCode);
    }
}

using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Tasks;

/// <summary>No task is handed to two agents or lost, however many claim at once and whoever disappears.</summary>
public sealed class TaskConcurrencyTests(AetherraFixture fx)
{
    [Fact]
    public async Task twenty_concurrent_claimers_never_get_the_same_task_and_every_task_is_done_once()
    {
        var key = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var setup = fx.Client(key.Key);
        var ids = new List<Guid>();
        for (var i = 0; i < 60; i++) ids.Add(await setup.CreateTaskAsync(new { title = $"job {i}", priority = i % 10 }));

        var claimedBy = new System.Collections.Concurrent.ConcurrentBag<(Guid Task, string Agent)>();
        var start = new TaskCompletionSource();
        var claimers = Enumerable.Range(0, 20).Select(n => Task.Run(async () =>
        {
            var client = fx.Client(key.Key);
            var agent = $"agent-{n}";
            await start.Task;
            while (await client.ClaimAsync(agent) is { } claim)
            {
                claimedBy.Add((claim.Id(), agent));
                await client.PostAsync($"/tasks/{claim.Id()}/complete", new { agent, attempt = claim.GetProperty("attempt").GetInt32() });
            }
        })).ToList();
        start.SetResult();
        await Task.WhenAll(claimers);

        Assert.Equal(ids.Order(), claimedBy.Select(c => c.Task).Order());
        Assert.Equal(ids.Count, (await setup.GetOkAsync("/tasks?status=completed&limit=500")).GetProperty("items").GetArrayLength());
        Assert.Equal(ids.Count, fx.ClaimEvents(key.Tenant).Values.Sum());
        Assert.All(fx.ClaimEvents(key.Tenant).Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task claimers_that_vanish_mid_lease_lose_their_tasks_to_the_others_and_nothing_is_lost_or_doubled()
    {
        var key = await fx.NewTenantAsync(TaskSupport.AllScopes);
        var setup = fx.Client(key.Key);
        var ids = new List<Guid>();
        for (var i = 0; i < 30; i++) ids.Add(await setup.CreateTaskAsync(new { title = $"job {i}", priority = i % 3 }));

        // Five claimers take one task each at once, under a two-second lease, and vanish (no heartbeat, no answer).
        var abandoned = (await Task.WhenAll(Enumerable.Range(0, 5).Select(async n =>
            (await fx.Client(key.Key).ClaimAsync($"doomed-{n}", leaseSeconds: 2))!.Value.Id()))).ToList();
        Assert.Equal(5, abandoned.Distinct().Count());

        var completions = new System.Collections.Concurrent.ConcurrentBag<(Guid Task, int Attempt)>();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        var survivors = Enumerable.Range(0, 15).Select(n => Task.Run(async () =>
        {
            var client = fx.Client(key.Key);
            while (completions.Count < ids.Count && DateTimeOffset.UtcNow < deadline)
            {
                if (await client.ClaimAsync($"agent-{n}", leaseSeconds: 30) is not { } claim)
                {
                    // Nothing ready: the abandoned tasks come back as their leases run out.
                    await Task.Delay(100);
                    continue;
                }
                var attempt = claim.GetProperty("attempt").GetInt32();
                await client.PostAsync($"/tasks/{claim.Id()}/complete", new { agent = $"agent-{n}", attempt });
                completions.Add((claim.Id(), attempt));
            }
        })).ToList();
        await Task.WhenAll(survivors);

        Assert.Equal(ids.Order(), completions.Select(c => c.Task).Order());
        // Every claim is an attempt: a task completes on its last claim. The abandoned ones needed a second claim;
        // the others (claimed by survivors under a 30 s lease, completed at once) exactly one.
        var claims = fx.ClaimEvents(key.Tenant);
        Assert.All(completions, c => Assert.Equal(claims[c.Task], c.Attempt));
        Assert.All(ids, id => Assert.Equal(abandoned.Contains(id) ? 2 : 1, claims[id]));
        foreach (var id in abandoned)
        {
            var task = await setup.GetOkAsync($"/tasks/{id}");
            Assert.Equal(["created", "claimed", "lease-expired", "claimed", "completed"],
                task.GetProperty("history").EnumerateArray().Select(h => h.Str("type")));
        }
    }
}

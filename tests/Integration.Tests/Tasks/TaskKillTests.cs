using System.Diagnostics;
using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Tasks;

/// <summary>
/// A real claimer process, killed with SIGKILL while it holds a task and keeps its lease alive with heartbeats: no
/// goodbye, no fail, its socket simply gone. The task must come back when the last lease it renewed runs out, with
/// the dead claim counted as an attempt, and go to exactly one of the claimers racing for it.
/// </summary>
public sealed class TaskKillTests(AetherraFixture fx)
{
    // Long enough that a heartbeat every 2 s arrives in time on a loaded machine (a whole ops/test run on 2 shared
    // cores delayed one past a 6 s lease), short enough to wait out.
    private const int LeaseSeconds = 20;

    [Fact]
    public async Task a_claimer_killed_mid_lease_loses_its_task_to_exactly_one_other_claimer_with_the_attempt_counted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await fx.StartLoopbackServerAsync(ct: ct);
        var key = await server.NewKeyAsync("kill", "kill-tenant", TaskSupport.AllScopes, ct);
        var setup = Client(server, key);
        // The doomed claimer takes the top-priority task; the others wait behind it.
        var doomedTask = await setup.CreateTaskAsync(new { title = "held by the doomed claimer", priority = 9 });
        var others = new List<Guid>();
        for (var i = 0; i < 12; i++) others.Add(await setup.CreateTaskAsync(new { title = $"job {i}", priority = i % 5 }));

        using var claimer = StartClaimer(server, key);
        var lines = new List<string>();
        // Its first line is the claim; each later line a heartbeat. Two heartbeats: the lease it holds is one it renewed.
        while (lines.Count < 3)
        {
            var line = await claimer.StandardOutput.ReadLineAsync(ct)
                       ?? throw new Xunit.Sdk.XunitException(
                           $"the claimer exited early after {string.Join(" | ", lines)}: {await claimer.StandardError.ReadToEndAsync(ct)}");
            lines.Add(line);
        }
        var claim = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(doomedTask, claim.Id());
        Assert.Equal(1, claim.GetProperty("attempt").GetInt32());
        Assert.All(lines.Skip(1), l => Assert.Equal("claimed", JsonDocument.Parse(l).RootElement.Str("status")));
        var renewedUntil = JsonDocument.Parse(lines[^1]).RootElement.GetProperty("leaseUntil").GetDateTimeOffset();
        Assert.True(renewedUntil > claim.GetProperty("leaseUntil").GetDateTimeOffset(), "the heartbeats renewed the lease");

        claimer.Kill(entireProcessTree: true); // SIGKILL
        await claimer.WaitForExitAsync(ct);

        // Eight claimers race for everything, the dead claim's task included once its lease runs out.
        var completions = new System.Collections.Concurrent.ConcurrentBag<(Guid Task, string Agent, int Attempt, DateTimeOffset At)>();
        var all = others.Append(doomedTask).ToList();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(150);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(n => Task.Run(async () =>
        {
            var client = Client(server, key);
            var agent = $"survivor-{n}";
            while (completions.Count < all.Count && DateTimeOffset.UtcNow < deadline)
            {
                if (await client.ClaimAsync(agent, leaseSeconds: 60) is not { } c)
                {
                    await Task.Delay(100, ct);
                    continue;
                }
                var attempt = c.GetProperty("attempt").GetInt32();
                await client.PostAsync($"/tasks/{c.Id()}/complete", new { agent, attempt });
                completions.Add((c.Id(), agent, attempt, DateTimeOffset.UtcNow));
            }
        }, ct)));

        // Nothing lost, nothing done twice.
        Assert.Equal(all.Order(), completions.Select(c => c.Task).Order());
        var taken = Assert.Single(completions, c => c.Task == doomedTask);
        Assert.Equal(2, taken.Attempt);
        Assert.All(completions.Where(c => c.Task != doomedTask), c => Assert.Equal(1, c.Attempt));

        // The task's own history: the dead claim, its lease running out, one claim by the survivor that completed it.
        var history = (await setup.GetOkAsync($"/tasks/{doomedTask}")).GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(["created", "claimed", "lease-expired", "claimed", "completed"], history.Select(h => h.Str("type")));
        Assert.Equal(["doomed", "doomed", taken.Agent, taken.Agent], history.Skip(1).Select(h => h.Str("agent")));
        Assert.Equal([1, 1, 2, 2], history.Skip(1).Select(h => h.GetProperty("attempt").GetInt32()));
        // The renewed lease held to its end: the task went back to the queue no earlier than the last renewal allowed.
        Assert.True(history[2].GetProperty("at").GetDateTimeOffset() >= renewedUntil.AddMilliseconds(-200),
            $"the lease expired at {history[2].GetProperty("at")} though it had been renewed until {renewedUntil:O}");
        var completed = await setup.GetOkAsync("/tasks?status=completed&limit=500");
        Assert.Equal(all.Count, completed.GetProperty("items").GetArrayLength());
    }

    private static HttpClient Client(ServerProcess server, string key)
    {
        var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>
    /// A worker in another process (bash and curl): claims one task under a short lease, prints the claim, then
    /// renews the lease every 2 s and prints each answer, until it is killed.
    /// </summary>
    private static Process StartClaimer(ServerProcess server, string key)
    {
        const string script = """
            set -euo pipefail
            post() { curl -sS --fail-with-body -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$2" "$URL$1"; }
            claim=$(post /tasks/claim "{\"agent\":\"doomed\",\"leaseSeconds\":$LEASE}")
            [[ -n $claim ]] || { echo "no task was ready" >&2; exit 1; }
            echo "$claim"
            id=$(jq -r .id <<<"$claim")
            while true; do
              sleep 2
              post "/tasks/$id/heartbeat" "{\"agent\":\"doomed\",\"attempt\":1,\"leaseSeconds\":$LEASE}"
              echo
            done
            """;
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { "-c", script },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["KEY"] = key, ["URL"] = server.BaseAddress.ToString().TrimEnd('/'), ["LEASE"] = LeaseSeconds.ToString() }
        };
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the claimer");
    }
}

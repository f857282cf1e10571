using System.Text;
using Aetherra.Application.Recall;
using Aetherra.Application.Scripts;
using Aetherra.Integration.Tests.Decisions;
using Aetherra.Integration.Tests.Plugins;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Integration.Tests.Scripts;

/// <summary>Issue 18: signed .aether scripts, strictly verified, run on demand, on a schedule and on an event.</summary>
public sealed class ScriptTests(AetherraFixture fx)
{
    /// <summary>Recalls a subject's memories and proposes a decision for each (the issue's "done when" script).</summary>
    private static string FollowUp(string subject, string triggers = "") => $$"""
        # Follow up on every open question about one customer.
        budget 20 steps 30 seconds
        {{triggers}}
        let subject = "{{subject}}"
        let found = recall(query: "open question", subject: subject, limit: 5)
        for each m in found {
          decide(agent: "follow-up", category: "email", action: "answer: {m.content}", confidence: 0.95,
                 rationale: "recalled for {subject}", risk: "low", subject: subject, evidence: [m])
        }
        emit found.count
        """;

    private sealed record Tenant(HttpClient Client, TenantKey Key, Publisher Publisher);

    private async Task<Tenant> TenantWithPublisherAsync()
    {
        var key = await fx.NewTenantAsync("admin");
        var client = fx.Client(key.Key);
        var publisher = Publisher.New();
        await client.TrustAsync(publisher);
        return new Tenant(client, key, publisher);
    }

    private static object Body(string name, string source, Publisher publisher, string? signedSource = null) => new
    {
        name, source, publisherKeyId = publisher.KeyId,
        signature = Convert.ToBase64String(Ed25519Signatures.Sign(publisher.PrivateKey, Encoding.UTF8.GetBytes(signedSource ?? source))),
    };

    private async Task<string> SubjectWithMemoriesAsync(HttpClient client, int count)
    {
        var subject = "customer-" + Guid.NewGuid().ToString("N")[..8];
        long sequence = 0;
        for (var i = 0; i < count; i++)
            (_, sequence) = await client.RecordAsync(Api.Memory($"open question {i}: when does my order {i} ship?", subject));
        await fx.WaitForProjectionAsync(RecallProjection.Name, sequence);
        // The trigger subscription starts from the present the first time it runs (a new database's history triggers
        // nothing), a few seconds after the server starts: past this write, it sees every event the test appends next.
        await fx.WaitForProjectionAsync(ScriptTriggers.SubscriptionName, sequence);
        return subject;
    }

    private static async Task<Guid> PublishAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/scripts", body);
        var json = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.Created, json.ToString());
        return json.GetProperty("id").GetGuid();
    }

    /// <summary>
    /// One read of a polling loop. A loop that only yields between reads can spend the key's rate limit (2,000 at once, then
    /// 1,000 a second) in a few seconds on a fast server; the answer is then a 429 problem, and the client does what the
    /// server says: it waits for Retry-After and reads again. Any other status than 200 fails the test with the problem.
    /// </summary>
    private static async Task<JsonElement> PollAsync(HttpClient client, string url)
    {
        while (true)
        {
            using var response = await client.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }
            var json = await response.Json();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}: {(int)response.StatusCode} {json}");
            return json;
        }
    }

    /// <summary>Follows a run until it ends (the pattern of Api.RebuildAsync: bounded, no sleeps).</summary>
    private static async Task<JsonElement> EndedAsync(HttpClient client, Guid runId)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            var run = await PollAsync(client, $"/scripts/runs/{runId}");
            if (run.ValueKind == JsonValueKind.Object && run.GetProperty("status").GetString() != "running") return run;
            Assert.True(DateTimeOffset.UtcNow < deadline, $"run {runId} still running: {run}");
            await Task.Yield();
        }
    }

    /// <summary>The first ended run of a script whose trigger starts with <paramref name="trigger"/>.</summary>
    private static async Task<JsonElement> TriggeredRunAsync(HttpClient client, Guid scriptId, string trigger)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            var runs = await PollAsync(client, $"/scripts/{scriptId}/runs");
            var ended = runs.EnumerateArray().FirstOrDefault(r =>
                r.GetProperty("trigger").GetString()!.StartsWith(trigger, StringComparison.Ordinal) && r.GetProperty("status").GetString() != "running");
            if (ended.ValueKind == JsonValueKind.Object) return ended;
            Assert.True(DateTimeOffset.UtcNow < deadline, $"no ended '{trigger}' run of {scriptId}: {runs}");
            await Task.Yield();
        }
    }

    private static void AssertFollowedUp(JsonElement run, int memories)
    {
        Assert.True(run.GetProperty("status").GetString() == "completed", run.ToString());
        var steps = run.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(["recall", .. Enumerable.Repeat("decide", memories)], steps.Select(s => s.GetProperty("command").GetString()));
        Assert.All(steps, s => Assert.Equal("ok", s.GetProperty("outcome").GetString()));
        Assert.Equal($"[{memories}]", run.GetProperty("output").GetRawText());
    }

    [Fact]
    public async Task a_signed_script_recalls_a_subjects_memories_and_proposes_a_decision_for_each_every_step_audited()
    {
        var t = await TenantWithPublisherAsync();
        var subject = await SubjectWithMemoriesAsync(t.Client, 2);
        var id = await PublishAsync(t.Client, Body("follow-up", FollowUp(subject), t.Publisher));

        var started = await t.Client.PostAsJsonAsync($"/scripts/{id}/run", new { });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var run = await EndedAsync(t.Client, (await started.Json()).GetProperty("runId").GetGuid());
        AssertFollowedUp(run, 2);

        // Each step went through its route's use case and audit, as the script's key, by the script channel.
        var stepRequests = run.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("requestId").GetString()).ToHashSet();
        var audited = (await t.Client.AuditAsync("decision.propose")).Concat(await t.Client.AuditAsync("script.recall"))
            .Where(r => stepRequests.Contains(r.GetProperty("requestId").GetString())).ToList();
        Assert.Equal(3, audited.Count);
        Assert.All(audited, r =>
        {
            Assert.Equal(t.Key.KeyId.ToString(), r.GetProperty("actor").GetString());
            Assert.Equal("script", r.GetProperty("channel").GetString());
            Assert.Equal("accepted", r.GetProperty("outcome").GetString());
        });
        var decisions = run.GetProperty("steps").EnumerateArray().Skip(1).Select(s => Guid.Parse(s.GetProperty("detail").GetString()!.Split(' ')[0]));
        foreach (var decision in decisions)
            Assert.Equal(subject, (await t.Client.GetOkAsync($"/decisions/{decision}")).Str("subject"));
        Assert.Single(await t.Client.AuditAsync("script.run"));
    }

    [Fact]
    public async Task the_same_script_tampered_with_by_one_byte_is_refused_audited_and_nothing_runs()
    {
        var t = await TenantWithPublisherAsync();
        var source = FollowUp("customer-1");
        var tampered = source.Replace("confidence: 0.95", "confidence: 0.96", StringComparison.Ordinal);
        Assert.Equal(source.Length, tampered.Length);

        var response = await t.Client.PostAsJsonAsync("/scripts", Body("follow-up", tampered, t.Publisher, signedSource: source));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("signature does not verify", (await response.Json()).GetProperty("detail").GetString());
        var refused = Assert.Single(await t.Client.AuditAsync("script.publish"));
        Assert.Equal("rejected", refused.GetProperty("outcome").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await t.Client.GetAsync($"/scripts/{Guid.CreateVersion7()}")).StatusCode);
        Assert.Empty(await t.Client.AuditAsync("script.run"));
        Assert.Empty(await t.Client.AuditAsync("decision.propose"));
    }

    [Fact]
    public async Task unsigned_untrusted_and_revoked_scripts_are_refused()
    {
        var t = await TenantWithPublisherAsync();
        var source = FollowUp("customer-1");
        var unsigned = await t.Client.PostAsJsonAsync("/scripts", new { name = "x", source, publisherKeyId = t.Publisher.KeyId, signature = "" });
        Assert.Equal(HttpStatusCode.BadRequest, unsigned.StatusCode);

        var stranger = Publisher.New();
        var untrusted = await t.Client.PostAsJsonAsync("/scripts", Body("x", source, stranger));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, untrusted.StatusCode);
        Assert.Contains("is not trusted", (await untrusted.Json()).GetProperty("detail").GetString());

        // Published while trusted; the key revoked afterwards: the next run is refused before anything runs.
        var id = await PublishAsync(t.Client, Body("x", source, t.Publisher));
        var revoke = await t.Client.DeleteAsync($"/trust/publishers/{t.Publisher.KeyId}?reason=leaked");
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        var run = await t.Client.PostAsJsonAsync($"/scripts/{id}/run", new { });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, run.StatusCode);
        Assert.Contains("is revoked", (await run.Json()).GetProperty("detail").GetString());
        Assert.Empty((await (await t.Client.GetAsync($"/scripts/{id}/runs")).Json()).EnumerateArray());
        var again = await t.Client.PostAsJsonAsync("/scripts", Body("x", source, t.Publisher));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, again.StatusCode);
    }

    [Fact]
    public async Task a_script_that_does_not_parse_or_check_is_refused_with_each_problem_at_its_line_and_column()
    {
        var t = await TenantWithPublisherAsync();
        var bad = "budget 5 steps 5 seconds\nlet x = recall(query: \"q\", subjekt: y)\nlaunch(now: true)\n";
        var response = await t.Client.PostAsJsonAsync("/scripts", Body("bad", bad, t.Publisher));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var errors = (await response.Json()).GetProperty("errors").EnumerateArray()
            .Select(e => $"{e.GetProperty("line").GetInt32()}:{e.GetProperty("column").GetInt32()}").ToList();
        Assert.Equal(["2:28", "2:37", "3:1"], errors);

        var unparsed = await t.Client.PostAsJsonAsync("/scripts", Body("bad", "budget 5 steps 5 seconds\nlet = 1\n", t.Publisher));
        var error = Assert.Single((await unparsed.Json()).GetProperty("errors").EnumerateArray());
        Assert.Equal((2, 5), (error.GetProperty("line").GetInt32(), error.GetProperty("column").GetInt32()));
    }

    [Fact]
    public async Task a_script_needing_a_scope_its_key_lacks_is_refused()
    {
        var t = await TenantWithPublisherAsync();
        // Publishing takes admin, which grants every scope of the tenant; a key without it cannot publish at all.
        var reader = await fx.NewKeyAsync(t.Key.Tenant, "memory:read", "scripts:run", "scripts:read");
        var response = await fx.Client(reader.Key).PostAsJsonAsync("/scripts", Body("follow-up", FollowUp("c"), t.Publisher));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var id = await PublishAsync(t.Client, Body("follow-up", FollowUp("c"), t.Publisher));
        // A key with scripts:run starts it: the run is the script's, as its publishing key.
        var run = await fx.Client(reader.Key).PostAsJsonAsync($"/scripts/{id}/run", new { });
        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        await EndedAsync(t.Client, (await run.Json()).GetProperty("runId").GetGuid());
        var none = await fx.NewKeyAsync(t.Key.Tenant, "memory:read");
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Client(none.Key).PostAsJsonAsync($"/scripts/{id}/run", new { })).StatusCode);
    }

    [Fact]
    public async Task a_run_stops_at_its_step_budget()
    {
        var t = await TenantWithPublisherAsync();
        var source = """
            budget 2 steps 10 seconds
            for each n in [1, 2, 3] {
              remember(content: "note {n} {args.tag}", subject: "budget-test", agent: "a", kind: "fact")
            }
            """;
        var id = await PublishAsync(t.Client, Body("budgeted", source, t.Publisher));
        var started = await t.Client.PostAsJsonAsync($"/scripts/{id}/run", new { args = new { tag = Guid.NewGuid().ToString("N") } });
        var run = await EndedAsync(t.Client, (await started.Json()).GetProperty("runId").GetGuid());
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.True(run.GetProperty("budgetExhausted").GetBoolean());
        Assert.Contains("step budget of 2 is spent", run.GetProperty("error").GetString());
        Assert.Equal(2, run.GetProperty("steps").GetArrayLength());
        Assert.Equal(2, (await t.Client.AuditAsync("memory.record")).Length);
    }

    [Fact]
    public async Task a_scheduled_script_runs_on_its_schedule()
    {
        var t = await TenantWithPublisherAsync();
        var subject = await SubjectWithMemoriesAsync(t.Client, 1);
        // Six fields: seconds first. Every second, so the test waits a second, not a minute.
        var id = await PublishAsync(t.Client, Body("scheduled", FollowUp(subject, "on schedule \"* * * * * *\""), t.Publisher));
        var run = await TriggeredRunAsync(t.Client, id, "schedule");
        AssertFollowedUp(run, 1);
        // A new version without the schedule retires it: its armed message finds a later version and does nothing.
        await PublishAsync(t.Client, Body("scheduled", FollowUp(subject), t.Publisher));
    }

    [Fact]
    public async Task a_script_runs_when_the_event_type_it_listens_for_is_appended()
    {
        var t = await TenantWithPublisherAsync();
        var subject = await SubjectWithMemoriesAsync(t.Client, 1);
        var id = await PublishAsync(t.Client, Body("on-escalation", FollowUp(subject, "on event \"decision.escalated.v1\""), t.Publisher));
        var escalated = await t.Client.ProposeAsync(DecisionSupport.Proposal(0.05, risk: "high"));
        Assert.Equal("escalated", escalated.Str("status"));

        var run = await TriggeredRunAsync(t.Client, id, "event decision.escalated.v1");
        AssertFollowedUp(run, 1);
        var runs = await (await t.Client.GetAsync($"/scripts/{id}/runs")).Json();
        Assert.Single(runs.EnumerateArray());
    }

    /// <summary>
    /// Retiring stops a script's schedule and event trigger and refuses a manual run, until a new version is published.
    /// The waits are on conditions, not on time: the trigger subscription past the escalation's sequence, and no armed
    /// schedule message of the script left in Wolverine's store (a retired script's due message is not armed again).
    /// </summary>
    [Fact]
    public async Task a_retired_script_runs_neither_by_hand_nor_on_its_schedule_or_event_until_a_new_version_is_published()
    {
        var t = await TenantWithPublisherAsync();
        var subject = await SubjectWithMemoriesAsync(t.Client, 1);
        var source = FollowUp(subject, "on schedule \"* * * * * *\"\non event \"decision.escalated.v1\"");
        var id = await PublishAsync(t.Client, Body("retiring", source, t.Publisher));
        AssertFollowedUp(await TriggeredRunAsync(t.Client, id, "schedule"), 1);
        // Each due message arms the next before it runs, so one is armed now: the check below can see them.
        Assert.True(await ArmedSchedulesAsync(id) > 0, "no armed schedule message found for a live scheduled script");

        var retired = await t.Client.PostAsync($"/scripts/{id}/retire", null);
        var body = await retired.Json();
        Assert.True(retired.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.True(body.GetProperty("retired").GetBoolean());
        var script = await t.Client.GetOkAsync($"/scripts/{id}");
        Assert.Equal("retired", script.Str("status"));
        var retiredAt = script.GetProperty("retiredAt").GetDateTimeOffset();
        var audited = Assert.Single(await t.Client.AuditAsync(ScriptActions.Retire));
        Assert.Equal(t.Key.KeyId.ToString(), audited.GetProperty("actor").GetString());

        var again = await t.Client.PostAsync($"/scripts/{id}/retire", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, again.StatusCode);
        var manual = await t.Client.PostAsJsonAsync($"/scripts/{id}/run", new { });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, manual.StatusCode);
        Assert.Contains("is retired", (await manual.Json()).GetProperty("detail").GetString());

        var escalated = await t.Client.ProposeAsync(DecisionSupport.Proposal(0.05, risk: "high"));
        Assert.Equal("escalated", escalated.Str("status"));
        await fx.WaitForProjectionAsync(ScriptTriggers.SubscriptionName, escalated.GetProperty("sequence").GetInt64());
        await NoScheduleArmedAsync(id);

        var runs = (await (await t.Client.GetAsync($"/scripts/{id}/runs")).Json()).EnumerateArray().ToList();
        Assert.DoesNotContain(runs, r => r.Str("trigger").StartsWith("event", StringComparison.Ordinal));
        Assert.DoesNotContain(runs, r => r.GetProperty("startedAt").GetDateTimeOffset() > retiredAt);

        // A new version is live again (here without triggers, so the test leaves nothing armed behind).
        await PublishAsync(t.Client, Body("retiring", FollowUp(subject), t.Publisher));
        Assert.Equal("live", (await t.Client.GetOkAsync($"/scripts/{id}")).Str("status"));
        var rerun = await t.Client.PostAsJsonAsync($"/scripts/{id}/run", new { });
        Assert.Equal(HttpStatusCode.Accepted, rerun.StatusCode);
        AssertFollowedUp(await EndedAsync(t.Client, (await rerun.Json()).GetProperty("runId").GetGuid()), 1);
    }

    /// <summary>Until no schedule message of the script waits in Wolverine's durable store (bounded, no sleeps).</summary>
    private async Task NoScheduleArmedAsync(Guid scriptId)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (await ArmedSchedulesAsync(scriptId) > 0)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"a schedule message of script {scriptId} is still armed");
            await Task.Yield();
        }
    }

    /// <summary>The script's ScriptDue messages not yet handled. The stored body may be compressed: read either way.</summary>
    private async Task<int> ArmedSchedulesAsync(Guid scriptId)
    {
        await using var connection = fx.OpenDatabase();
        await using var query = new Npgsql.NpgsqlCommand(
            "select body from aetherra.wolverine_incoming_envelopes where message_type ilike '%ScriptDue%' and status <> 'Handled'", connection);
        await using var reader = await query.ExecuteReaderAsync();
        var armed = 0;
        while (await reader.ReadAsync())
        {
            var body = (byte[])reader[0];
            string text;
            try
            {
                using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(body), System.IO.Compression.CompressionMode.Decompress);
                using var plain = new MemoryStream();
                gzip.CopyTo(plain);
                text = Encoding.UTF8.GetString(plain.ToArray());
            }
            catch (InvalidDataException)
            {
                text = Encoding.UTF8.GetString(body);
            }
            if (text.Contains(scriptId.ToString(), StringComparison.OrdinalIgnoreCase)) armed++;
        }
        return armed;
    }

    [Fact]
    public async Task another_tenants_script_and_runs_are_not_found()
    {
        var a = await TenantWithPublisherAsync();
        var id = await PublishAsync(a.Client, Body("mine", "budget 1 steps 1 seconds\nemit 1\n", a.Publisher));
        var started = await a.Client.PostAsJsonAsync($"/scripts/{id}/run", new { });
        var runId = (await started.Json()).GetProperty("runId").GetGuid();
        await EndedAsync(a.Client, runId);

        var b = fx.Client((await fx.NewTenantAsync("admin")).Key);
        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync($"/scripts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync($"/scripts/{id}/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync($"/scripts/runs/{runId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsJsonAsync($"/scripts/{id}/run", new { })).StatusCode);
    }
}

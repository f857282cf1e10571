using Aetherra.Integration.Tests.Decisions;
using Aetherra.Integration.Tests.Plugins;
using Aetherra.Application.Plugins;
using Aetherra.Application.Common;
using Aetherra.Application.Homeostasis;
using Aetherra.Application.Operations;
using Aetherra.Domain.Homeostasis;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;
using Wolverine.Tracking;

namespace Aetherra.Integration.Tests;

/// <summary>
/// Homeostasis is one state for the whole system: its tests sample on demand and change setpoints, so they
/// run alone, after the tests that run in parallel (whose traffic would otherwise move the vitals under them).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HomeostasisCollection
{
    public const string Name = "homeostasis";
}

[Collection(HomeostasisCollection.Name)]
public sealed class HomeostasisTests(AetherraFixture fx)
{
    private VitalsSampler Sampler => fx.Host.Services.GetRequiredService<VitalsSampler>();
    private Tuning Tuning => fx.Host.Services.GetRequiredService<HomeostasisSettings>().Tuning;
    private HttpClient Admin => fx.Client(fx.AdminKey);

    private async Task<JsonElement> ReportAsync()
    {
        var response = await Admin.GetAsync("/homeostasis");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Json();
    }

    private async Task<JsonElement> VitalAsync(string name) =>
        (await ReportAsync()).GetProperty("vitals").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    private async Task SetpointAsync(string vital, double? min, double? max)
    {
        var response = await Admin.PutAsJsonAsync($"/homeostasis/setpoints/{vital}", new { min, max });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Samples until the vital is stable again (at most its resolve run), so each test starts from a known state.</summary>
    private async Task SettleAsync(string vital)
    {
        // At least one sample: a test that runs first in a fresh host finds no vital until then.
        await Sampler.SampleOnceAsync(CancellationToken.None);
        for (var i = 0; i <= Tuning.ResolveAfter && (await VitalAsync(vital)).GetProperty("state").GetString() != "stable"; i++)
            await Sampler.SampleOnceAsync(CancellationToken.None);
        Assert.Equal("stable", (await VitalAsync(vital)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task reading_homeostasis_needs_its_scope_and_changing_a_setpoint_needs_admin()
    {
        var reader = fx.Client((await fx.NewTenantAsync("homeostasis:read")).Key);
        var other = fx.Client((await fx.NewTenantAsync("memory:read", "memory:write")).Key);

        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/homeostasis")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync("/homeostasis")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client().GetAsync("/homeostasis")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await reader.PutAsJsonAsync("/homeostasis/setpoints/database.size", new { max = 1e12 })).StatusCode);

        var accepted = await Admin.PutAsJsonAsync("/homeostasis/setpoints/database.connections", new { min = 1, max = 500 });
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var body = await accepted.Json();
        Assert.Equal("database.connections", body.GetProperty("vital").GetString());
        Assert.True(body.GetProperty("sequence").GetInt64() > 0);
        await Sampler.SampleOnceAsync(CancellationToken.None);
        var setpoint = (await VitalAsync("database.connections")).GetProperty("setpoint");
        Assert.Equal(1, setpoint.GetProperty("min").GetDouble());
        Assert.Equal(500, setpoint.GetProperty("max").GetDouble());
    }

    [Fact]
    public async Task concurrent_setpoint_changes_to_different_vitals_are_all_kept()
    {
        await Sampler.SampleOnceAsync(CancellationToken.None);
        // The vitals this node has sampled (a latency appears once there was a request to measure).
        var before = (await ReportAsync()).GetProperty("vitals").EnumerateArray()
            .Where(v => !v.GetProperty("name").GetString()!.StartsWith(Vitals.ProjectionLagPrefix, StringComparison.Ordinal))
            .ToDictionary(v => v.GetProperty("name").GetString()!, v => v.GetProperty("setpoint").Clone());
        var vitals = before.Keys.ToArray();
        Assert.True(vitals.Length >= 3, string.Join(", ", vitals));

        for (var round = 1; round <= 5; round++)
        {
            var responses = await Task.WhenAll(vitals.Select((vital, i) =>
                Admin.PutAsJsonAsync($"/homeostasis/setpoints/{vital}", new { max = 1e12 + 100 * round + i })));
            foreach (var response in responses)
                Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

            await Sampler.SampleOnceAsync(CancellationToken.None);
            for (var i = 0; i < vitals.Length; i++)
                Assert.Equal(1e12 + 100 * round + i, (await VitalAsync(vitals[i])).GetProperty("setpoint").GetProperty("max").GetDouble());
        }

        foreach (var (vital, setpoint) in before)
            await SetpointAsync(vital,
                setpoint.TryGetProperty("min", out var min) && min.ValueKind == JsonValueKind.Number ? min.GetDouble() : null,
                setpoint.TryGetProperty("max", out var max) && max.ValueKind == JsonValueKind.Number ? max.GetDouble() : null);
    }

    [Fact]
    public async Task a_setpoint_with_its_minimum_above_its_maximum_or_for_an_unknown_vital_is_refused()
    {
        await (await Admin.PutAsJsonAsync("/homeostasis/setpoints/database.size", new { min = 10, max = 1 }))
            .AssertValidationErrorAsync("max");
        await (await Admin.PutAsJsonAsync("/homeostasis/setpoints/no.such.vital", new { max = 1 }))
            .AssertValidationErrorAsync("vital");
        await (await Admin.PutAsJsonAsync("/homeostasis/setpoints/projection.lag.NoSuchProjection", new { max = 1 }))
            .AssertValidationErrorAsync("vital");
    }

    [Fact]
    public async Task a_vital_outside_its_setpoint_deviates_after_its_run_and_recovers_only_after_its_own_run()
    {
        const string vital = "database.size";
        await SetpointAsync(vital, null, null);
        await SettleAsync(vital);

        await SetpointAsync(vital, null, 1);
        for (var i = 1; i < Tuning.RaiseAfter; i++)
        {
            var events = await Sampler.SampleOnceAsync(CancellationToken.None);
            Assert.DoesNotContain(events, e => e is DeviationDetected { Vital: vital });
        }
        Assert.Equal("stable", (await VitalAsync(vital)).GetProperty("state").GetString());

        var detected = Assert.Single((await Sampler.SampleOnceAsync(CancellationToken.None)).OfType<DeviationDetected>(), d => d.Vital == vital);
        Assert.Contains("above its setpoint maximum 1", detected.Reason);
        var deviating = await VitalAsync(vital);
        Assert.Equal("deviating", deviating.GetProperty("state").GetString());
        Assert.NotEqual("stable", (await ReportAsync()).GetProperty("state").GetString());

        await SetpointAsync(vital, null, null);
        for (var i = 1; i < Tuning.ResolveAfter; i++)
        {
            var events = await Sampler.SampleOnceAsync(CancellationToken.None);
            Assert.DoesNotContain(events, e => e is DeviationResolved { Vital: vital });
            Assert.Equal("deviating", (await VitalAsync(vital)).GetProperty("state").GetString());
        }
        Assert.Single((await Sampler.SampleOnceAsync(CancellationToken.None)).OfType<DeviationResolved>(), r => r.Vital == vital);
        var recovered = await VitalAsync(vital);
        Assert.Equal("stable", recovered.GetProperty("state").GetString());
        Assert.True(recovered.GetProperty("since").GetDateTimeOffset() > deviating.GetProperty("since").GetDateTimeOffset());
    }

    private static readonly string[] Notes =
    [
        "the boiler needs a new valve", "sister visits in June", "allergic to penicillin", "prefers aisle seats",
        "learning Portuguese on weekends", "the car insurance renews in March", "owns two cats named Pip and Moss",
        "runs a half marathon each autumn", "dislikes cilantro", "keeps spare keys with the neighbour",
        "works remotely on Fridays", "collects vinyl records of jazz", "the roof was repaired last year",
    ];

    [Fact]
    public async Task a_subject_over_its_memory_budget_is_consolidated_once_per_deviation()
    {
        const string vital = "memory.subject.largest";
        var tenant = await fx.NewTenantAsync("memory:read", "memory:write");
        var client = fx.Client(tenant.Key);
        var subject = "budget-" + Guid.NewGuid().ToString("N")[..8];
        var memories = Enumerable.Range(0, 38).Select(i => Api.Memory($"Quinn's note {i}: {Notes[i % Notes.Length]}", subject: subject))
            .Concat([Api.Memory("Quinn drinks green tea every morning.", subject: subject), Api.Memory("Quinn drinks green tea every morning!", subject: subject)]);
        var (_, recorded) = await client.RecordBatchAsync(memories);
        await client.RecallAsync(new { query = "tea", subject, minSequence = recorded });
        await SetpointAsync(vital, null, 1e9);
        await SettleAsync(vital);

        await SetpointAsync(vital, null, 35);
        var corrections = new List<CorrectionApplied>();
        for (var i = 0; i < Tuning.RaiseAfter + 2; i++)
            corrections.AddRange((await Sampler.SampleOnceAsync(CancellationToken.None)).OfType<CorrectionApplied>());

        var correction = Assert.Single(corrections, c => c.Target == $"{tenant.Tenant}/{subject}");
        Assert.Equal("memory.consolidate", correction.Action);
        Assert.StartsWith("job ", correction.Result);
        Assert.Equal("correcting", (await ReportAsync()).GetProperty("state").GetString());
        Assert.Contains((await ReportAsync()).GetProperty("corrections").EnumerateArray(),
            c => c.GetProperty("action").GetString() == "memory.consolidate" && c.GetProperty("vital").GetString() == vital);

        // The target names a tenant's subject: only that tenant (and admins) may see it.
        var own = fx.Client((await fx.NewKeyAsync(tenant.Tenant, "homeostasis:read")).Key);
        var stranger = fx.Client((await fx.NewTenantAsync("homeostasis:read")).Key);
        Assert.Contains((await (await own.GetAsync("/homeostasis")).Json()).GetProperty("corrections").EnumerateArray(),
            c => c.GetProperty("target").GetString() == $"{tenant.Tenant}/{subject}");
        var seen = (await (await stranger.GetAsync("/homeostasis")).Json()).GetProperty("corrections").EnumerateArray()
            .Where(c => c.GetProperty("action").GetString() == "memory.consolidate").ToList();
        Assert.NotEmpty(seen);
        Assert.All(seen, c => Assert.Equal(JsonValueKind.Null, c.GetProperty("target").ValueKind));

        var job = await client.FollowConsolidationAsync(fx, Guid.Parse(correction.Result["job ".Length..]));
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.True(job.GetProperty("result").GetProperty("superseded").GetInt32() >= 1, job.ToString());
        var sequence = job.GetProperty("result").GetProperty("sequence").GetInt64();
        var tea = await client.RecallAsync(new { query = "green tea", subject, minSequence = sequence });
        Assert.Single(tea, r => r.GetProperty("content").GetString()!.Contains("green tea"));

        await SetpointAsync(vital, null, 1e9);
    }

    [Fact]
    public async Task a_plugin_failing_above_its_setpoint_is_disabled_once_per_deviation_with_its_reason_and_audit()
    {
        const string vital = "plugins.failure-rate";
        await using var server = await PluginServer.StartAsync(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        var client = fx.Client(admin.Key);
        await SetpointAsync(vital, null, 1.5);
        await SettleAsync(vital);

        long sequence = 0;
        for (var i = 0; i < Corrections.MinPluginCalls + 2; i++)
        {
            var failed = await client.InvokeAsync(id);
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
            sequence = (await failed.Json()).GetProperty("sequence").GetInt64();
        }
        await fx.WaitForProjectionAsync(PluginAnalyticsProjection.ProjectionName, sequence);

        await SetpointAsync(vital, null, 0.5);
        var corrections = new List<CorrectionApplied>();
        for (var i = 0; i < Tuning.RaiseAfter + 2; i++)
            corrections.AddRange((await Sampler.SampleOnceAsync(CancellationToken.None)).OfType<CorrectionApplied>());

        var correction = Assert.Single(corrections, c => c.Target == $"{admin.Tenant}/{id}");
        Assert.Equal("plugin.disable", correction.Action);
        Assert.StartsWith("disabled", correction.Result);
        var detail = await (await client.GetAsync($"/plugins/{id}")).Json();
        Assert.Equal("disabled", detail.GetProperty("status").GetString());
        Assert.Contains("100% of its last 12 calls failed", detail.GetProperty("statusReason").GetString());
        Assert.Equal("homeostasis", Assert.Single(await client.AuditAsync("plugin.disable")).GetProperty("actor").GetString());
        Assert.Contains((await ReportAsync()).GetProperty("corrections").EnumerateArray(),
            c => c.GetProperty("action").GetString() == "plugin.disable" && c.GetProperty("vital").GetString() == vital);
        Assert.Equal(HttpStatusCode.Conflict, (await client.InvokeAsync(id)).StatusCode);

        await SetpointAsync(vital, null, null);
    }

    [Fact]
    public async Task an_agent_whose_auto_approved_decisions_fail_above_the_setpoint_gets_a_higher_threshold_once_per_deviation()
    {
        const string vital = "decisions.auto-approved-failure-rate";
        var tenant = await fx.NewTenantAsync(DecisionSupport.AllScopes);
        var client = fx.Client(tenant.Key);
        await SetpointAsync(vital, null, 1.5);
        await SettleAsync(vital);

        long sequence = 0;
        for (var i = 0; i < Corrections.MinDecisions + 2; i++)
        {
            var proposed = await client.ProposeAsync(DecisionSupport.Proposal(0.95, agent: "reckless"));
            Assert.Equal("approved", proposed.Str("status"));
            sequence = (await client.PostAsync($"/decisions/{proposed.Id()}/outcome", new { success = i % 3 == 0 })).GetProperty("sequence").GetInt64();
        }
        await SetpointAsync(vital, null, 0.25);
        var corrections = new List<CorrectionApplied>();
        for (var i = 0; i < Tuning.RaiseAfter + 2; i++)
            corrections.AddRange((await Sampler.SampleOnceAsync(CancellationToken.None)).OfType<CorrectionApplied>());

        var correction = Assert.Single(corrections, c => c.Target == $"{tenant.Tenant}/reckless/booking");
        Assert.Equal("autonomy.raise-threshold", correction.Action);
        Assert.Equal("raised 0.8 -> 0.85", correction.Result.Split(" (")[0]);
        Assert.Equal(0, (await VitalAsync("decisions.escalation-rate")).GetProperty("value").GetDouble());
        // The learning loop is async: wait for it to fold the adjustment the correction appended.
        var adjusted = long.Parse(correction.Result.Split("(sequence ")[1].TrimEnd(')'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(adjusted > sequence);
        var booking = (await client.GetOkAsync($"/learning/reckless?minSequence={adjusted}")).GetProperty("categories").EnumerateArray()
            .Single(c => c.Str("category") == "booking");
        var raised = booking.GetProperty("thresholdHistory").EnumerateArray().Last();
        Assert.Equal(0.85, raised.GetProperty("to").GetDouble(), 9);
        Assert.Contains("66.7% of the last 12 auto-approved decisions failed", raised.Str("reason"));
        Assert.Equal("homeostasis", Assert.Single(await client.AuditAsync("autonomy.raise-threshold")).Str("actor"));
        Assert.Equal("escalated", (await client.ProposeAsync(DecisionSupport.Proposal(0.82, agent: "reckless"))).Str("status"));

        await SetpointAsync(vital, null, null);
    }

    [Fact]
    public async Task the_homeostasis_report_lists_every_vital_with_its_baseline_setpoint_and_state()
    {
        await Sampler.SampleOnceAsync(CancellationToken.None);

        var report = await ReportAsync();

        Assert.Contains(report.GetProperty("state").GetString(), new[] { "stable", "degraded", "correcting" });
        Assert.Equal(JsonValueKind.Array, report.GetProperty("corrections").ValueKind);
        var names = report.GetProperty("vitals").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Subset(names.ToHashSet(), new HashSet<string?>
        {
            "database.size", "database.connections", "memory.subject.largest", "projection.lag.RecallEntry", "projection.lag.AuditLog",
        });
        var size = await VitalAsync("database.size");
        Assert.True(size.GetProperty("value").GetDouble() > 0);
        Assert.True(size.GetProperty("mean").GetDouble() > 0);
        Assert.True(size.GetProperty("stddev").GetDouble() >= 0);
        Assert.Equal(JsonValueKind.Object, size.GetProperty("setpoint").ValueKind);
        Assert.Contains(size.GetProperty("state").GetString(), new[] { "stable", "deviating" });
        Assert.True(size.TryGetProperty("since", out _));
        Assert.False(string.IsNullOrEmpty(size.GetProperty("node").GetString()));
    }

    [Fact]
    public async Task vitals_measure_the_real_recall_and_write_latency_and_error_rate_of_the_interval()
    {
        var client = fx.Client((await fx.NewTenantAsync("memory:read", "memory:write")).Key);
        await Sampler.SampleOnceAsync(CancellationToken.None);
        var (_, sequence) = await client.RecordAsync(Api.Memory("Ruth repairs clocks", subject: "ruth"));
        await client.RecallAsync(new { query = "clocks", minSequence = sequence });

        var sampled = Assert.Single((await Sampler.SampleOnceAsync(CancellationToken.None)).OfType<VitalsSampled>());

        Assert.True(sampled.Values["write.latency.p95"] > 0);
        Assert.True(sampled.Values["recall.latency.p95"] > 0);
        Assert.InRange(sampled.Values["http.error-rate"], 0, 1);
        Assert.True(sampled.Values["events.append-rate"] > 0);
        Assert.True(sampled.Values["database.connections"] >= 1);
        Assert.Equal(fx.Host.Services.GetRequiredService<HomeostasisSettings>().Node, sampled.Node);
    }

    /// <summary>
    /// A stalled projection cannot be produced on demand (Wolverine's leader restarts a stopped agent on its own
    /// within seconds), so the policy is given the deviating lag and the stall the sampler would have seen.
    /// </summary>
    [Fact]
    public async Task a_stalled_projection_is_restarted_once_per_deviation_and_keeps_projecting()
    {
        var corrections = fx.Host.Services.GetRequiredService<Corrections>();
        var now = DateTimeOffset.UtcNow;
        var lag = Vital.Create("projection.lag.RecallEntry", now) with { Value = 50_000, Condition = VitalCondition.Deviating, Since = now };
        var stalled = new Readings(new HashSet<string> { "RecallEntry" }, [], []);

        // The correction goes out as a command that Operations' handler executes (Wolverine's tracking sees it run).
        IReadOnlyList<CorrectionApplied> first = [];
        var tracked = await fx.Host.TrackActivity().Timeout(TimeSpan.FromSeconds(30)).ExecuteAndWaitAsync((Func<IMessageContext, Task>)(async _ =>
            first = await corrections.ApplyAsync("node", lag, new Setpoint(null, 10_000), [], stalled, now, CancellationToken.None)));
        Assert.Equal("RecallEntry", tracked.Executed.SingleMessage<RestartProjectionCorrection>().Projection);
        var applied = Assert.Single(first);
        Assert.Equal(("projection.restart", "RecallEntry", "restarted"), (applied.Action, applied.Target, applied.Result));

        var done = new[] { new CorrectionView(applied.At, applied.Vital, applied.Action, applied.Target, applied.Result) };
        Assert.Empty(await corrections.ApplyAsync("node", lag, new Setpoint(null, 10_000), done, stalled, now, CancellationToken.None));
        Assert.Empty(await corrections.ApplyAsync("node", lag, new Setpoint(null, 10_000), [], new Readings(new HashSet<string>(), [], []), now, CancellationToken.None));

        var client = fx.Client((await fx.NewTenantAsync("memory:read", "memory:write")).Key);
        var (id, sequence) = await client.RecordAsync(Api.Memory("Saul tunes pianos after the restart", subject: "saul"));
        Assert.Contains(id, (await client.RecallAsync(new { query = "pianos", minSequence = sequence })).Ids());
    }
}

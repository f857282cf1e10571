using Aetherra.Application.Decisions;
using Aetherra.Application.Operations;
using Aetherra.Application.Plugins;
using Aetherra.Application.Recall;
using Aetherra.Domain.Homeostasis;
using Npgsql;
using Wolverine;
using Wolverine.Runtime;

namespace Aetherra.Application.Homeostasis;

/// <summary>
/// What a sample measured beyond its values that the corrections act on, so they act on what was judged
/// without asking the store again: async projections whose position did not move since the previous
/// sample, and the plugins and agent categories with enough recent activity to be judged.
/// </summary>
public sealed record Readings(
    IReadOnlySet<string> Stalled, IReadOnlyList<PluginHealth> Plugins, IReadOnlyList<AutoApprovedFailureRate> Decisions);

/// <summary>
/// The policies that act on a deviating vital. Each acts at most once per deviation (it checks the node's
/// corrections since the deviation began), so a policy is as free of flapping as the deviation itself, and
/// its result, good or bad, is recorded as CorrectionApplied (docs/operations.md, "Corrections").
/// A policy acts by sending a command (a Wolverine message) that the feature owning the action handles in its
/// own transaction, with its own events and audit record: homeostasis decides when, never how. The command is
/// invoked and its answer awaited, so CorrectionApplied records what came of it.
/// </summary>
public sealed class Corrections(IWolverineRuntime runtime, NpgsqlDataSource dataSource)
{
    public const string RestartProjection = "projection.restart";
    public const string Consolidate = "memory.consolidate";
    public const string DisablePlugin = "plugin.disable";
    public const string RaiseThreshold = "autonomy.raise-threshold";

    /// <summary>Resolved auto-approved decisions per agent and category that the failure rate is taken over.</summary>
    public const int RecentDecisions = 50;

    /// <summary>Fewest of them before the rate counts.</summary>
    public const int MinDecisions = 10;

    /// <summary>How much one correction raises a threshold (the learning loop may lower it again on evidence).</summary>
    public const double ThresholdStep = 0.05;
    public const string Actor = "homeostasis";

    /// <summary>Fewest recent calls before a plugin's failure rate counts: two failures of three say little.</summary>
    public const int MinPluginCalls = 10;

    /// <summary>The agents and categories with enough recently resolved auto-approved decisions to be judged.</summary>
    public static IEnumerable<AutoApprovedFailureRate> Judged(IEnumerable<AutoApprovedFailureRate> rates) =>
        rates.Where(r => r.Resolved >= MinDecisions);

    /// <summary>The enabled plugins called often enough to be judged by their recent failure rate.</summary>
    public static IEnumerable<PluginHealth> Judged(IEnumerable<PluginHealth> health) =>
        health.Where(h => h.Status == "enabled" && h.RecentInvocations >= MinPluginCalls);

    /// <summary>Most subjects one deviation starts consolidation for (largest first).</summary>
    public const int MaxSubjects = 100;

    /// <summary>How long a correction's command may take before its result is recorded as failed.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(1);

    private Task<T> SendAsync<T>(object command, CancellationToken ct) => new MessageBus(runtime).InvokeAsync<T>(command, ct, CommandTimeout);

    public async Task<IReadOnlyList<CorrectionApplied>> ApplyAsync(
        string node, Vital vital, Setpoint setpoint, IReadOnlyCollection<CorrectionView> done, Readings readings,
        DateTimeOffset now, CancellationToken ct)
    {
        if (vital.Condition != VitalCondition.Deviating) return [];
        bool Already(string action) => done.Any(c => c.Vital == vital.Name && c.Action == action && c.At >= vital.Since);

        if (vital.Name.StartsWith(Vitals.ProjectionLagPrefix, StringComparison.Ordinal))
        {
            var projection = vital.Name[Vitals.ProjectionLagPrefix.Length..];
            // A projection that lags but advances is busy, not stuck: restarting it would only lose its batch.
            if (!readings.Stalled.Contains(projection) || Already(RestartProjection)) return [];
            return [new CorrectionApplied(node, vital.Name, now, RestartProjection, projection,
                await Try(async () => (await SendAsync<ProjectionRestarted>(new RestartProjectionCorrection(projection), ct)).Outcome))];
        }

        if (vital.Name == Vitals.LargestSubject && setpoint.Max is { } budget && !Already(Consolidate))
        {
            var applied = new List<CorrectionApplied>();
            foreach (var (tenant, subject) in await SubjectsOverAsync((long)budget, ct))
            {
                var result = await Try(async () =>
                    $"job {(await SendAsync<ConsolidationStarted>(new ConsolidateSubjectCorrection(tenant, subject, Actor), ct)).JobId}");
                applied.Add(new CorrectionApplied(node, vital.Name, now, Consolidate, $"{tenant}/{subject}", result));
            }
            return applied;
        }
        if (vital.Name == Vitals.PluginFailureRate && setpoint.Max is { } ceiling)
            return await DisableFailingPluginsAsync(node, vital, ceiling, readings.Plugins, done, now, ct);
        if (vital.Name == Vitals.AutoApprovedFailureRate && setpoint.Max is { } limit)
            return await RaiseThresholdsAsync(node, vital, limit, readings.Decisions, done, now, ct);
        return [];
    }

    /// <summary>
    /// Raises by <see cref="ThresholdStep"/> the autonomy threshold of every agent and category whose recent
    /// auto-approved decisions fail more often than the setpoint, each at most once per deviation, as actor
    /// "homeostasis" in its tenant (an autonomy.threshold-adjusted.v1 with the reason, audited).
    /// </summary>
    private async Task<IReadOnlyList<CorrectionApplied>> RaiseThresholdsAsync(
        string node, Vital vital, double limit, IReadOnlyList<AutoApprovedFailureRate> judged, IReadOnlyCollection<CorrectionView> done,
        DateTimeOffset now, CancellationToken ct)
    {
        var applied = new List<CorrectionApplied>();
        foreach (var rate in judged.Where(r => r.FailureRate > limit))
        {
            var target = $"{rate.Tenant}/{rate.Agent}/{rate.Category}";
            if (done.Any(c => c.Vital == vital.Name && c.Action == RaiseThreshold && c.Target == target && c.At >= vital.Since)) continue;
            var reason = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"homeostasis: {rate.FailureRate * 100:0.#}% of the last {rate.Resolved} auto-approved decisions failed, above the setpoint {limit * 100:0.#}%");
            var result = await Try(async () =>
            {
                var raised = await SendAsync<RaiseAutonomyThresholdResult>(
                    new RaiseThresholdCorrection(rate.Tenant, rate.Agent, rate.Category, ThresholdStep, reason, Actor), ct);
                return raised.Moved
                    ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"raised {raised.From:0.##} -> {raised.To:0.##} (sequence {raised.Sequence})")
                    : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"already at {raised.From:0.##}");
            });
            applied.Add(new CorrectionApplied(node, vital.Name, now, RaiseThreshold, target, result));
        }
        return applied;
    }

    /// <summary>
    /// Disables every enabled plugin whose recent failure rate is above the setpoint, each at most once per
    /// deviation (an operator who enables it again meanwhile is not overruled), with the same event and audit
    /// record as POST /plugins/{id}/disable, in the plugin's tenant, actor "homeostasis".
    /// </summary>
    private async Task<IReadOnlyList<CorrectionApplied>> DisableFailingPluginsAsync(
        string node, Vital vital, double ceiling, IReadOnlyList<PluginHealth> judged, IReadOnlyCollection<CorrectionView> done,
        DateTimeOffset now, CancellationToken ct)
    {
        var applied = new List<CorrectionApplied>();
        foreach (var plugin in judged.Where(h => h.RecentFailureRate > ceiling))
        {
            var target = $"{plugin.Tenant}/{plugin.PluginId}";
            if (done.Any(c => c.Vital == vital.Name && c.Action == DisablePlugin && c.Target == target && c.At >= vital.Since)) continue;
            var reason = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"homeostasis: {plugin.RecentFailureRate * 100:0.#}% of its last {plugin.RecentInvocations} calls failed, above the setpoint {ceiling * 100:0.#}%");
            var result = await Try(async () =>
                $"disabled (sequence {(await SendAsync<PluginStatusResult>(new DisablePluginCorrection(plugin.Tenant, plugin.PluginId, reason, Actor), ct)).Sequence})");
            applied.Add(new CorrectionApplied(node, vital.Name, now, DisablePlugin, target, result));
        }
        return applied;
    }

    private static async Task<string> Try(Func<Task<string>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return $"failed: {e.Message}";
        }
    }

    private async Task<List<(string Tenant, string Subject)>> SubjectsOverAsync(long budget, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"select tenant_id, subject from {RecallSchema.Subjects} where docs > $1 order by docs desc, tenant_id, subject limit {MaxSubjects}");
        cmd.Parameters.Add(new() { Value = budget });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var subjects = new List<(string, string)>();
        while (await reader.ReadAsync(ct)) subjects.Add((reader.GetString(0), reader.GetString(1)));
        return subjects;
    }
}

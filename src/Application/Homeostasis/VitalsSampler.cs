using System.Security.Cryptography;
using System.Text;
using Aetherra.Application.Decisions;
using Aetherra.Application.Operations;
using Aetherra.Application.Plugins;
using Aetherra.Domain.Homeostasis;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Telemetry;
using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Homeostasis;

/// <summary>
/// Samples this node's vitals every interval, appends one VitalsSampled to the node's stream of the day and,
/// in the same transaction, the deviations it raises or resolves and the corrections applied (each correction's
/// command already handled, in its own transaction, by the feature that owns it: <see cref="Corrections"/>).
/// </summary>
public sealed class VitalsSampler(
    IDocumentStore store, NpgsqlDataSource dataSource, VitalRecorder recorder, ProjectionOperations projections,
    Corrections corrections, DeadLetters deadLetters, HomeostasisSettings settings, TimeProvider clock, ILogger<VitalsSampler> log) : BackgroundService
{
    private const string S = AetherraSettings.Schema;
    private readonly SemaphoreSlim _one = new(1, 1);
    private (long Sequence, DateTimeOffset At)? _lastAppend;
    private Dictionary<string, long> _lastPositions = [];

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (settings.Interval <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(settings.Interval, clock);
        while (await timer.WaitForNextTickAsync(stop))
        {
            try
            {
                await SampleOnceAsync(stop);
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                // A missed sample is a gap in the series, not a reason to stop sampling.
                log.LogWarning(e, "Could not sample vitals");
            }
        }
    }

    /// <summary>One sample, now: what the timer does each interval (tests call it directly). Answers the events appended.</summary>
    public async Task<IReadOnlyList<object>> SampleOnceAsync(CancellationToken ct)
    {
        await _one.WaitAsync(ct);
        try
        {
            var (values, readings) = await MeasureAsync(ct);
            return await EvaluateAsync(values, readings, ct);
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>The node's stream of one UTC day: deterministic, so any process of the node finds it again.</summary>
    public static Guid StreamFor(string node, DateTimeOffset at) =>
        new(MD5.HashData(Encoding.UTF8.GetBytes($"homeostasis/{node}/{at.UtcDateTime:yyyy-MM-dd}")));

    private async Task<IReadOnlyList<object>> EvaluateAsync(
        IReadOnlyDictionary<string, double> values, Readings readings, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        HomeostasisNode? node;
        HomeostasisSetpoints? setpoints;
        await using (var query = store.QuerySession(HomeostasisConfiguration.Tenant))
        {
            node = await query.LoadAsync<HomeostasisNode>(settings.Node, ct);
            setpoints = await query.LoadAsync<HomeostasisSetpoints>(HomeostasisSetpoints.Key, ct);
        }
        Setpoint SetpointOf(string vital) =>
            setpoints?.Setpoints.TryGetValue(vital, out var s) == true ? s : settings.DefaultSetpoint(vital);

        var state = node?.State() ?? NodeVitals.Create(settings.Node);
        var events = HomeostasisDecisions.Sample(state, now, values, SetpointOf, settings.Tuning).ToList();
        foreach (var e in events)
            state = e switch
            {
                VitalsSampled s => state.Apply(s, settings.Tuning.Alpha),
                DeviationDetected d => state.Apply(d),
                DeviationResolved r => state.Apply(r),
                _ => state,
            };
        var done = node?.Corrections ?? [];
        foreach (var vital in state.Vitals.Values.OrderBy(v => v.Name, StringComparer.Ordinal))
            events.AddRange(await corrections.ApplyAsync(settings.Node, vital, SetpointOf(vital.Name), done, readings, now, ct));

        // The corrections went out as commands, each committed by the feature that owns it; homeostasis's own
        // transaction holds only its sample and what the sample raised, resolved and applied.
        await using var session = store.LightweightSession(HomeostasisConfiguration.Tenant);
        session.Events.Append(StreamFor(settings.Node, now), events);
        await session.SaveChangesAsync(ct);
        return events;
    }

    private async Task<(Dictionary<string, double> Values, Readings Readings)> MeasureAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        var recorded = recorder.Drain();
        long? previous;
        long current;
        if (recorded.RecallP95Ms is { } recall) values[Vitals.RecallLatency] = recall;
        if (recorded.WriteP95Ms is { } write) values[Vitals.WriteLatency] = write;
        if (recorded.Requests > 0) values[Vitals.ErrorRate] = (double)recorded.ServerErrors / recorded.Requests;

        await using (var cmd = dataSource.CreateCommand($"""
            select coalesce((select max(seq_id) from {S}.mt_events), 0),
                   pg_database_size(current_database()),
                   (select count(*) from pg_stat_activity where datname = current_database()),
                   coalesce((select max(docs) from {S}.recall_subjects), 0)
            """))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            var sequence = reader.GetInt64(0);
            if (_lastAppend is { } last && now > last.At)
                values[Vitals.AppendRate] = Math.Max(0, sequence - last.Sequence) / (now - last.At).TotalSeconds;
            previous = _lastAppend?.Sequence;
            _lastAppend = (sequence, now);
            current = sequence;
            values[Vitals.DatabaseSize] = reader.GetInt64(1);
            values[Vitals.Connections] = reader.GetInt64(2);
            values[Vitals.LargestSubject] = reader.GetInt64(3);
        }

        // The share of the interval's proposals that the governor escalated (all tenants; absent without any).
        if (previous is { } from && await EscalationsAsync(from, current, ct) is { Proposed: > 0 } d)
            values[Vitals.EscalationRate] = (double)d.Escalated / d.Proposed;
        // The share of the interval's model calls that failed, on any provider of the chain (all tenants; absent
        // without calls): a fallback that still answered the reply counts its failed attempts.
        if (previous is { } since && await ModelCallsAsync(since, current, ct) is { Calls: > 0 } m)
            values[Vitals.AiFailureRate] = (double)m.Failed / m.Calls;
        // The worst agent and category among those with enough recently resolved auto-approved decisions.
        var decisions = Corrections.Judged(await AutoApprovedFailures.RecentAsync(dataSource, Corrections.RecentDecisions, null, ct)).ToList();
        values[Vitals.AutoApprovedFailureRate] = decisions.Select(r => r.FailureRate).DefaultIfEmpty(0).Max();

        // The worst enabled plugin among those called often enough to judge (PluginAnalytics, all tenants).
        var plugins = Corrections.Judged(await PluginHealthQuery.ReadAsync(store, null, ct)).ToList();
        values[Vitals.PluginFailureRate] = plugins.Select(h => h.RecentFailureRate).DefaultIfEmpty(0).Max();

        // Events the async projections skipped and no operator has retried or skipped yet.
        values[Vitals.DeadLetters] = await deadLetters.CountAsync(ct);

        var stalled = new HashSet<string>(StringComparer.Ordinal);
        var positions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var p in (await projections.ListAsync(ct)).Where(p => p.Lifecycle == "async"))
        {
            values[Vitals.ProjectionLag(p.Name)] = p.Lag;
            positions[p.Name] = p.Position;
            if (p.Lag > 0 && _lastPositions.TryGetValue(p.Name, out var before) && before == p.Position) stalled.Add(p.Name);
        }
        _lastPositions = positions;
        return (values, new Readings(stalled, plugins, decisions));
    }

    private async Task<(long Calls, long Failed)> ModelCallsAsync(long after, long upTo, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            select count(*), count(*) filter (where (data->>'succeeded')::boolean is not true)
            from {S}.mt_events where type = 'ai.completion-recorded.v1' and seq_id > $1 and seq_id <= $2
            """);
        cmd.Parameters.Add(new() { Value = after });
        cmd.Parameters.Add(new() { Value = upTo });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private async Task<(long Proposed, long Escalated)> EscalationsAsync(long after, long upTo, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            select count(*) filter (where type = 'decision.proposed.v1'), count(*) filter (where type = 'decision.escalated.v1')
            from {S}.mt_events where seq_id > $1 and seq_id <= $2
            """);
        cmd.Parameters.Add(new() { Value = after });
        cmd.Parameters.Add(new() { Value = upTo });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}

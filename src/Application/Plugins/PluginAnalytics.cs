using Aetherra.Domain.Plugins;
using Marten.Events.Projections;

namespace Aetherra.Application.Plugins;

/// <summary>
/// Invocation figures of one plugin, overall and per capability. Latency percentiles are exact (nearest rank)
/// over the last <see cref="InvocationFigures.Window"/> calls, successes and failures alike (a timeout is latency
/// a caller suffered); counts and the success rate cover every call ever made.
/// </summary>
public sealed class PluginAnalytics
{
    public Guid Id { get; set; }
    public string PluginId { get; set; } = "";
    public string Tenant { get; set; } = "";
    public InvocationFigures Overall { get; set; } = new();
    public Dictionary<string, InvocationFigures> Capabilities { get; set; } = new(StringComparer.Ordinal);
    public long LastSequence { get; set; }
}

public sealed class InvocationFigures
{
    public const int Window = 1_000;

    public long Invocations { get; set; }
    public long Successes { get; set; }
    /// <summary>Durations (ms) of the most recent calls, oldest first.</summary>
    public List<double> RecentDurations { get; set; } = [];
    /// <summary>Whether each of the most recent calls failed, oldest first (same window).</summary>
    public List<bool> RecentFailures { get; set; } = [];
    public string? LastError { get; set; }
    public DateTimeOffset? LastErrorAt { get; set; }
    public DateTimeOffset? LastInvokedAt { get; set; }

    public double? SuccessRate => Invocations == 0 ? null : (double)Successes / Invocations;
    public double? P50Ms => Percentile(0.50);
    public double? P95Ms => Percentile(0.95);
    public double? RecentFailureRate => RecentFailures.Count == 0 ? null : (double)RecentFailures.Count(f => f) / RecentFailures.Count;

    public void Record(double durationMs, bool failed, string? error, DateTimeOffset at)
    {
        Invocations++;
        if (!failed) Successes++;
        else (LastError, LastErrorAt) = (error, at);
        LastInvokedAt = at;
        RecentDurations.Add(durationMs);
        RecentFailures.Add(failed);
        if (RecentDurations.Count > Window) RecentDurations.RemoveAt(0);
        if (RecentFailures.Count > Window) RecentFailures.RemoveAt(0);
    }

    /// <summary>Nearest-rank percentile: the smallest recorded duration with at least p of the window at or below it.</summary>
    public double? Percentile(double p)
    {
        if (RecentDurations.Count == 0) return null;
        var sorted = RecentDurations.Order().ToList();
        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}

/// <summary>
/// PluginAnalytics, async: one document per plugin stream (the invocation events carry the plugin's stream id),
/// in the tenant of the events. Reads only event data, never the clock, so a rebuild reaches the same figures.
/// </summary>
public sealed partial class PluginAnalyticsProjection : MultiStreamProjection<PluginAnalytics, Guid>
{
    public const string ProjectionName = "PluginAnalytics";

    public PluginAnalyticsProjection()
    {
        Name = ProjectionName;
        Identity<PluginInvocationCompleted>(e => e.PluginStreamId);
        Identity<PluginInvocationFailed>(e => e.PluginStreamId);
    }

    public static void Apply(JasperFx.Events.IEvent<PluginInvocationCompleted> e, PluginAnalytics view) =>
        Record(view, e.TenantId, e.Data.PluginId, e.Data.Capability, e.Data.DurationMs, false, null, e.Data.At, e.Sequence);

    public static void Apply(JasperFx.Events.IEvent<PluginInvocationFailed> e, PluginAnalytics view) =>
        Record(view, e.TenantId, e.Data.PluginId, e.Data.Capability, e.Data.DurationMs, true, $"{e.Data.ErrorClass}: {e.Data.Error}", e.Data.At, e.Sequence);

    private static void Record(PluginAnalytics view, string tenant, string pluginId, string capability, double durationMs, bool failed, string? error,
        DateTimeOffset at, long sequence)
    {
        view.PluginId = pluginId;
        view.Tenant = tenant;
        view.LastSequence = sequence;
        view.Overall.Record(durationMs, failed, error, at);
        if (!view.Capabilities.TryGetValue(capability, out var figures))
            view.Capabilities[capability] = figures = new InvocationFigures();
        figures.Record(durationMs, failed, error, at);
    }
}

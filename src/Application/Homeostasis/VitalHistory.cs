using Aetherra.Domain.Homeostasis;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Homeostasis;

public sealed record VitalHistoryQuery(string Vital, string? Window, string? Node);

public sealed record VitalPoint(DateTimeOffset At, double Value, double Max, int Samples);

/// <summary>A deviation of the window: <c>Until</c> is null while it lasts (or when it was resolved after the window).</summary>
public sealed record DeviationSpan(DateTimeOffset At, DateTimeOffset? Until, double Value, double Mean, double StdDev, string Reason);

public sealed record NodeSeries(string Node, IReadOnlyList<VitalPoint> Points, IReadOnlyList<DeviationSpan> Deviations);

public sealed record VitalHistory(
    string Vital, string Window, DateTimeOffset From, DateTimeOffset To, SetpointView Setpoint, IReadOnlyList<NodeSeries> Nodes);

public sealed class VitalHistoryQueryValidator : AbstractValidator<VitalHistoryQuery>
{
    public VitalHistoryQueryValidator()
    {
        RuleFor(x => x.Window).Must(w => w is null || ReadVitalHistory.Windows.ContainsKey(w))
            .WithMessage("'window' must be one of hour, day, week.");
        RuleFor(x => x.Node).MaximumLength(200).Must(n => n is null || !n.Any(char.IsControl))
            .WithMessage("'node' must not contain control characters.");
        RuleFor(x => x.Vital).MaximumLength(200).Must(v => !v.Any(char.IsControl))
            .WithMessage("'name' must not contain control characters.");
    }
}

/// <summary>
/// One vital over the last hour, day or week, per node, with its setpoint band and the deviations raised in the
/// window. A node's samples of a UTC day are one stream (VitalsSampler.StreamFor), so a window reads a handful
/// of streams by id, never a scan of the event table. Long windows are averaged into at most
/// <see cref="MaxPoints"/> buckets (each point keeps the bucket's maximum, so a spike is not averaged away).
/// </summary>
public static class ReadVitalHistory
{
    public const int MaxPoints = 720;

    public static readonly IReadOnlyDictionary<string, TimeSpan> Windows = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["hour"] = TimeSpan.FromHours(1), ["day"] = TimeSpan.FromDays(1), ["week"] = TimeSpan.FromDays(7),
    };

    public static async Task<VitalHistory> Get(
        IDocumentStore store, HomeostasisSettings settings, VitalHistoryQuery q, DateTimeOffset now, CancellationToken ct)
    {
        var window = q.Window ?? "hour";
        var from = now - Windows[window];
        await using var session = store.QuerySession(HomeostasisConfiguration.Tenant);
        var nodes = (await session.Query<HomeostasisNode>().ToListAsync(ct))
            .Where(n => string.IsNullOrEmpty(q.Node) || n.Id == q.Node).OrderBy(n => n.Id, StringComparer.Ordinal).ToList();
        var setpoints = (await session.LoadAsync<HomeostasisSetpoints>(HomeostasisSetpoints.Key, ct))?.Setpoints ?? [];
        // A vital this system samples, or one a node has sampled (a projection's lag is named after the projection).
        if (!Vitals.IsKnown(q.Vital, []) && !nodes.Any(n => n.Vitals.ContainsKey(q.Vital)))
            throw new Common.NotFound($"the vital '{q.Vital}'");
        var setpoint = setpoints.TryGetValue(q.Vital, out var s) ? s : settings.DefaultSetpoint(q.Vital);

        var series = new List<NodeSeries>();
        foreach (var node in nodes)
        {
            var samples = new List<(DateTimeOffset At, double Value)>();
            var deviations = new List<DeviationSpan>();
            for (var day = from.UtcDateTime.Date; day <= now.UtcDateTime.Date; day = day.AddDays(1))
            {
                var events = await session.Events.FetchStreamAsync(VitalsSampler.StreamFor(node.Id, new DateTimeOffset(day, TimeSpan.Zero)), token: ct);
                foreach (var e in events)
                    switch (e.Data)
                    {
                        case VitalsSampled v when v.At >= from && v.At <= now && v.Values.TryGetValue(q.Vital, out var value):
                            samples.Add((v.At, value));
                            break;
                        case DeviationDetected d when d.Vital == q.Vital && d.At <= now:
                            deviations.Add(new DeviationSpan(d.At, null, d.Value, d.Mean, d.StdDev, d.Reason));
                            break;
                        case DeviationResolved r when r.Vital == q.Vital && r.At <= now && deviations.Count > 0 && deviations[^1].Until is null:
                            deviations[^1] = deviations[^1] with { Until = r.At };
                            break;
                    }
            }
            series.Add(new NodeSeries(node.Id, Bucket(samples, from, now),
                deviations.Where(d => d.Until is null || d.Until >= from).ToList()));
        }
        return new VitalHistory(q.Vital, window, from, now, new SetpointView(setpoint.Min, setpoint.Max), series);
    }

    private static List<VitalPoint> Bucket(List<(DateTimeOffset At, double Value)> samples, DateTimeOffset from, DateTimeOffset to)
    {
        if (samples.Count <= MaxPoints) return samples.Select(x => new VitalPoint(x.At, x.Value, x.Value, 1)).ToList();
        var width = (to - from) / MaxPoints;
        return samples.GroupBy(x => Math.Min(MaxPoints - 1, (int)((x.At - from) / width)))
            .OrderBy(g => g.Key)
            .Select(g => new VitalPoint(from + width * (g.Key + 0.5), g.Average(x => x.Value), g.Max(x => x.Value), g.Count()))
            .ToList();
    }
}

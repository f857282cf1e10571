using Aetherra.Domain.SelfModel;
using JasperFx.Events;
using Marten.Events.Projections;

namespace Aetherra.Application.SelfModel;

/// <summary>The series of self-snapshots (the latest <see cref="Kept"/>), folded from the events alone.</summary>
public sealed class SelfSeries
{
    public const string Key = "self";
    public const int Kept = 200;

    public string Id { get; set; } = Key;
    public List<SelfSnapshotTaken> Snapshots { get; set; } = [];
}

/// <summary>
/// Async, like the read models it summarises: it reads nothing but the snapshot events (their own figures and
/// times), so a rebuild gives the same series.
/// </summary>
public sealed class SelfModelProjection : MultiStreamProjection<SelfSeries, string>
{
    public const string ProjectionName = "SelfModel";

    public SelfModelProjection()
    {
        Name = ProjectionName;
        Identity<SelfSnapshotTaken>(_ => SelfSeries.Key);
        // Evolve (unlike Apply methods) tells Marten no event type: without this the daemon loads every event for it.
        if (!Aetherra.Infrastructure.MeasurementSwitches.ProjectionsReadEveryEvent) IncludeType<SelfSnapshotTaken>();
    }

    public override SelfSeries Evolve(SelfSeries? snapshot, string id, IEvent e)
    {
        var series = snapshot ?? new SelfSeries();
        if (e.Data is SelfSnapshotTaken taken)
        {
            series.Snapshots.Add(taken);
            if (series.Snapshots.Count > SelfSeries.Kept) series.Snapshots.RemoveRange(0, series.Snapshots.Count - SelfSeries.Kept);
        }
        return series;
    }
}

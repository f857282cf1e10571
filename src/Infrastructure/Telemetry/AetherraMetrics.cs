using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Aetherra.Infrastructure.Telemetry;

/// <summary>Aetherra's own instruments (meter and activity source "Aetherra"), beside those of ASP.NET, Npgsql, Marten and Wolverine.</summary>
public static class AetherraMetrics
{
    public const string Name = "Aetherra";

    public static readonly Meter Meter = new(Name);
    public static readonly ActivitySource Activities = new(Name);

    public const string RecallDurationName = "aetherra.recall.duration";

    /// <summary>Time to answer a recall, server side.</summary>
    public static readonly Histogram<double> RecallDuration =
        Meter.CreateHistogram<double>(RecallDurationName, "ms", "Time to answer POST /recall");

    /// <summary>Memories the recall projection embedded, and how long embedding took.</summary>
    public static readonly Counter<long> Embedded =
        Meter.CreateCounter<long>("aetherra.recall.embedded", "{text}", "Texts embedded by the recall projection");

    public static readonly Histogram<double> EmbeddingDuration =
        Meter.CreateHistogram<double>("aetherra.recall.embedding.duration", "ms", "Time to embed one projection batch");
}

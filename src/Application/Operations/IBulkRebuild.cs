using Npgsql;

namespace Aetherra.Application.Operations;

/// <summary>
/// An async projection that writes differently during a full rebuild (ProjectionOperations.StartRebuildAsync):
/// told before the daemon starts replaying the log, and again once it has caught up, before the job ends.
/// </summary>
public interface IBulkRebuild
{
    string Name { get; }

    void BeginRebuild();

    Task EndRebuildAsync(CancellationToken ct);

    /// <summary>
    /// True when a full rebuild replays the log through the projection's own replay (<see cref="ReplayAsync"/>) instead of
    /// the daemon's; false sends it through the daemon as before.
    /// </summary>
    bool ReplaysItself { get; }

    /// <summary>
    /// Tears the read model down and replays the log up to <paramref name="ceiling"/> (a high-water mark: no gap below it),
    /// with the projection's shard stopped by the caller; the shard's progress is committed with each page, and set to
    /// the ceiling with the last. Between <see cref="BeginRebuild"/> and <see cref="EndRebuildAsync"/>.
    /// </summary>
    Task ReplayAsync(Marten.IDocumentStore store, long ceiling, CancellationToken ct);

    /// <summary>
    /// The same end for a copy of the projection that <see cref="AnalysisRebuild"/> built in <paramref name="schema"/>
    /// (whose store only ever rebuilds), on the rebuild's connection once its daemon has caught up.
    /// </summary>
    Task EndAnalysisCopyAsync(NpgsqlConnection connection, string schema, CancellationToken ct);
}

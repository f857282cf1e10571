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
    /// The same end for a copy of the projection that <see cref="AnalysisRebuild"/> built in <paramref name="schema"/>
    /// (whose store only ever rebuilds), on the rebuild's connection once its daemon has caught up.
    /// </summary>
    Task EndAnalysisCopyAsync(NpgsqlConnection connection, string schema, CancellationToken ct);
}

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
}

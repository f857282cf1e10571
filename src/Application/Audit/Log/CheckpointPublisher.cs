using Aetherra.Infrastructure.AuditLog;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Audit.Log;

/// <summary>
/// Signs a checkpoint of the tree every <c>CheckpointEvery</c> leaves or <c>CheckpointInterval</c>, whichever
/// comes first, while the tree grows; nothing while it is idle. Several nodes may run it: the same size is
/// stored once. With tenants over several databases it signs each database's tree in turn, under that tree's
/// own origin (AuditLogs).
/// </summary>
public sealed class CheckpointPublisher(
    AuditLogs logs, AuditSigner signer, AuditLogSettings settings, TimeProvider clock, ILogger<CheckpointPublisher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var poll = TimeSpan.FromSeconds(Math.Min(1, settings.CheckpointInterval.TotalSeconds));
        using var timer = new PeriodicTimer(poll, clock);
        while (await timer.WaitForNextTickAsync(ct))
        {
            foreach (var log in logs.All)
            {
                try
                {
                    await PublishAsync(log, force: false, ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    logger.LogWarning(e, "Could not sign an audit checkpoint of the {Database} database; retrying", log.Database);
                }
            }
        }
    }

    /// <summary>
    /// Signs the current tree when a checkpoint is due (or, forced, whenever it grew since the last one);
    /// answers the latest checkpoint either way. A tree smaller than the last checkpoint (a rebuild under
    /// way) is never signed.
    /// </summary>
    public Task<StoredCheckpoint?> PublishAsync(bool force, CancellationToken ct) => PublishAsync(logs.Home, force, ct);

    /// <summary>The same, for one database's tree.</summary>
    public async Task<StoredCheckpoint?> PublishAsync(DatabaseAuditLog database, bool force, CancellationToken ct)
    {
        var log = database.Store;
        var last = await log.LatestCheckpointAsync(ct);
        var head = await log.HeadAsync(ct);
        var now = clock.GetUtcNow();
        if (head.Size == 0) return last;
        var due = last is null
            || (head.Size > last.TreeSize && (force
                || head.Size - last.TreeSize >= settings.CheckpointEvery
                || now - last.SignedAt >= settings.CheckpointInterval));
        if (!due) return last;
        var checkpoint = new StoredCheckpoint(head.Size, head.RootHash, signer.Sign(database.Origin, head.Size, head.RootHash), now);
        await log.SaveCheckpointAsync(checkpoint, ct);
        return await log.LatestCheckpointAsync(ct);
    }
}

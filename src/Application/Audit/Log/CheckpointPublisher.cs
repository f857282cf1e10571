using Aetherra.Infrastructure.AuditLog;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Audit.Log;

/// <summary>
/// Signs a checkpoint of the tree every <c>CheckpointEvery</c> leaves or <c>CheckpointInterval</c>, whichever
/// comes first, while the tree grows; nothing while it is idle. Several nodes may run it: the same size is
/// stored once.
/// </summary>
public sealed class CheckpointPublisher(
    AuditLogStore log, AuditSigner signer, AuditLogSettings settings, TimeProvider clock, ILogger<CheckpointPublisher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var poll = TimeSpan.FromSeconds(Math.Min(1, settings.CheckpointInterval.TotalSeconds));
        using var timer = new PeriodicTimer(poll, clock);
        while (await timer.WaitForNextTickAsync(ct))
        {
            try
            {
                await PublishAsync(force: false, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.LogWarning(e, "Could not sign an audit checkpoint; retrying");
            }
        }
    }

    /// <summary>
    /// Signs the current tree when a checkpoint is due (or, forced, whenever it grew since the last one);
    /// answers the latest checkpoint either way. A tree smaller than the last checkpoint (a rebuild under
    /// way) is never signed.
    /// </summary>
    public async Task<StoredCheckpoint?> PublishAsync(bool force, CancellationToken ct)
    {
        var last = await log.LatestCheckpointAsync(ct);
        var head = await log.HeadAsync(ct);
        var now = clock.GetUtcNow();
        if (head.Size == 0) return last;
        var due = last is null
            || (head.Size > last.TreeSize && (force
                || head.Size - last.TreeSize >= settings.CheckpointEvery
                || now - last.SignedAt >= settings.CheckpointInterval));
        if (!due) return last;
        var checkpoint = new StoredCheckpoint(head.Size, head.RootHash, signer.Sign(head.Size, head.RootHash), now);
        await log.SaveCheckpointAsync(checkpoint, ct);
        return await log.LatestCheckpointAsync(ct);
    }
}

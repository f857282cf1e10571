using Microsoft.Extensions.Hosting;

namespace Aetherra.Application.Events;

/// <summary>
/// One poll of the high-water mark for the whole process (every 100 ms while any live subscriber waits,
/// none otherwise), instead of one per subscriber: subscribers wait on it and read the store only when the
/// mark passed their cursor.
/// </summary>
public sealed class HighWaterSignal(EventFeed feed, TimeProvider clock) : BackgroundService
{
    private TaskCompletionSource<long> next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long current;
    private int waiting;

    public long Current => Interlocked.Read(ref current);

    /// <summary>Completes when the high-water mark is above <paramref name="seen"/> (or at once if it already is).</summary>
    public Task WaitAboveAsync(long seen, CancellationToken ct)
    {
        // The waiter is taken before the mark is read: the poller sets the mark first and then completes the
        // waiter it replaces, so an advance between the two is never missed.
        var waiter = Volatile.Read(ref next);
        return Current > seen ? Task.CompletedTask : WaitAsync(waiter.Task, ct);
    }

    private async Task WaitAsync(Task advanced, CancellationToken ct)
    {
        Interlocked.Increment(ref waiting);
        try { await advanced.WaitAsync(ct); }
        finally { Interlocked.Decrement(ref waiting); }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Nobody waits: no query. A subscriber arriving later waits at most one tick for a fresh mark.
                var mark = Volatile.Read(ref waiting) == 0 ? 0 : await feed.HighWaterMarkAsync(stoppingToken);
                if (mark > Current)
                {
                    Interlocked.Exchange(ref current, mark);
                    Interlocked.Exchange(ref next, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously))
                        .TrySetResult(mark);
                }
            }
            catch (Exception) when (!stoppingToken.IsCancellationRequested)
            {
                // The store is away: subscribers keep waiting, the next poll tries again.
            }
            try { await Task.Delay(TimeSpan.FromMilliseconds(100), clock, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }
}

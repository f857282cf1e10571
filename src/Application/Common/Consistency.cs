using Marten;
using Npgsql;

namespace Aetherra.Application.Common;

/// <summary>
/// Read-your-writes: a query given minSequence waits (bounded) until the store's committed events reach it.
/// Inline read models commit with their events, so reaching the sequence is enough for them.
/// </summary>
public static class Consistency
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);

    public static Task WaitForAsync(NpgsqlDataSource dataSource, long? minSequence, TimeProvider clock, CancellationToken ct) =>
        WaitAsync(dataSource, $"select coalesce(max(seq_id), 0) from {Infrastructure.AetherraSettings.Schema}.mt_events", minSequence, clock, ct);

    /// <summary>
    /// For an async read model: waits until the daemon has applied every event up to minSequence to the
    /// projection (its progression row), so that the query sees the client's own write.
    /// </summary>
    public static Task WaitForProjectionAsync(
        NpgsqlDataSource dataSource, string projection, long? minSequence, TimeProvider clock, CancellationToken ct,
        TimeSpan? maxWait = null) =>
        WaitAsync(dataSource,
            $"select coalesce(max(last_seq_id), 0) from {Infrastructure.AetherraSettings.Schema}.mt_event_progression where name = '{projection}:All'",
            minSequence, clock, ct, maxWait);

    /// <summary>
    /// SQL for the async daemon's high-water mark: below it every sequence is committed or known to be a gap
    /// that nothing can fill any more (0 until the daemon's first pass).
    /// </summary>
    public const string HighWaterMarkSql =
        $"select coalesce(max(last_seq_id), 0) from {Infrastructure.AetherraSettings.Schema}.mt_event_progression where name = 'HighWaterMark'";

    /// <summary>For the event feed: waits until the daemon's high-water mark has passed minSequence.</summary>
    public static Task WaitForHighWaterAsync(NpgsqlDataSource dataSource, long? minSequence, TimeProvider clock, CancellationToken ct) =>
        WaitAsync(dataSource, HighWaterMarkSql, minSequence, clock, ct);

    private static async Task WaitAsync(
        NpgsqlDataSource dataSource, string positionSql, long? minSequence, TimeProvider clock, CancellationToken ct, TimeSpan? maxWait = null)
    {
        if (minSequence is not { } wanted || wanted <= 0) return;
        var deadline = clock.GetUtcNow() + (maxWait ?? MaxWait);
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            await using (var cmd = dataSource.CreateCommand(positionSql))
            {
                if ((long)(await cmd.ExecuteScalarAsync(ct))! >= wanted) return;
            }
            if (clock.GetUtcNow() >= deadline) throw new NotYetConsistent(wanted);
            await Task.Delay(pause, clock, ct);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 200));
        }
    }
}

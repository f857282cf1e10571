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

    public static async Task WaitForAsync(NpgsqlDataSource dataSource, long? minSequence, TimeProvider clock, CancellationToken ct)
    {
        if (minSequence is not { } wanted || wanted <= 0) return;
        var deadline = clock.GetUtcNow() + MaxWait;
        var pause = TimeSpan.FromMilliseconds(10);
        while (true)
        {
            await using (var cmd = dataSource.CreateCommand($"select coalesce(max(seq_id), 0) from {Infrastructure.AetherraSettings.Schema}.mt_events"))
            {
                if ((long)(await cmd.ExecuteScalarAsync(ct))! >= wanted) return;
            }
            if (clock.GetUtcNow() >= deadline) throw new NotYetConsistent(wanted);
            await Task.Delay(pause, clock, ct);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 200));
        }
    }
}

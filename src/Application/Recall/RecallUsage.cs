using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Recall;

/// <summary>
/// Which memories recall returned, and when last (table <c>recall_usage</c>; the archive policy's "never
/// recalled"). Derived usage telemetry, not a write any client was promised: a recall only queues what it returned
/// (a bounded in-process channel, never awaited) and this service writes the queue in batches, one upsert per
/// batch, off the request's path. A recall answers without waiting for a commit, so the usage of the last moments
/// (at most <see cref="FlushInterval"/> plus one write) is lost if the process dies, and recalls beyond
/// <see cref="Capacity"/> queued ones are counted as dropped (<see cref="Dropped"/>) instead of slowing recall down.
/// <see cref="ArchiveMemories"/> flushes this node's queue before it reads the table.
/// </summary>
public sealed class RecallUsage(Aetherra.Infrastructure.Database.TenantDatabases databases, TimeProvider clock, ILogger<RecallUsage> log) : BackgroundService
{
    /// <summary>Recalls queued at most; past it a recall's usage is dropped, never waited for.</summary>
    public const int Capacity = 10_000;

    /// <summary>How long the writer gathers recalls before a write (a write goes at once when the queue is idle).</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(200);

    private sealed record Used(string Tenant, Guid[] Ids, DateTimeOffset At);

    private readonly Channel<Used> queue = Channel.CreateBounded<Used>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly SemaphoreSlim writing = new(1, 1);
    private long dropped;

    /// <summary>Recalls whose usage was not recorded because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Queues what one recall returned; returns at once.</summary>
    public void Record(string tenant, IEnumerable<Guid> ids)
    {
        var used = new Used(tenant, ids.Distinct().ToArray(), clock.GetUtcNow());
        if (used.Ids.Length == 0) return;
        // Never waits: a full queue drops this recall's usage.
        if (!queue.Writer.TryWrite(used)) Interlocked.Increment(ref dropped);
    }

    /// <summary>Writes everything queued so far (the archive policy reads the table right after).</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        await writing.WaitAsync(ct);
        try
        {
            var batch = new List<Used>();
            while (queue.Reader.TryRead(out var used)) batch.Add(used);
            await WriteAsync(batch, ct);
        }
        finally
        {
            writing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                // Real time, not the clock: a test's fake clock must not stall the writer.
                await Task.Delay(FlushInterval, stoppingToken);
                try
                {
                    await FlushAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Telemetry: a failed write is logged and the batch given up; recall itself is unaffected.
                    log.LogWarning(e, "Could not record recall usage; the batch is dropped");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // What is still queued is written on a graceful stop.
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not record the last recall usage at shutdown");
        }
    }

    /// <summary>
    /// One upsert for the batch: per (tenant, memory) the number of recalls and the latest instant, in one order
    /// (so that two nodes' writes lock rows alike: no deadlock).
    /// </summary>
    private async Task WriteAsync(List<Used> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return;
        var rows = batch.SelectMany(u => u.Ids.Select(id => (u.Tenant, Id: id, u.At)))
            .GroupBy(r => (r.Tenant, r.Id))
            .Select(g => (g.Key.Tenant, g.Key.Id, At: g.Max(r => r.At), Count: (long)g.Count()))
            .OrderBy(r => r.Tenant, StringComparer.Ordinal).ThenBy(r => r.Id)
            .ToList();
        // Each tenant's rows go to its own database (docs/scaling.md), in the same order.
        foreach (var database in databases.All)
        {
            var mine = rows.Where(r => databases.Of(r.Tenant) == database).ToList();
            if (mine.Count == 0) continue;
            await using var cmd = database.DataSource.CreateCommand($"""
                insert into {RecallSchema.Usage} (tenant_id, memory_id, last_recalled_at, recalls)
                select * from unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::bigint[])
                on conflict (tenant_id, memory_id) do update set
                    last_recalled_at = greatest({RecallSchema.Usage}.last_recalled_at, excluded.last_recalled_at),
                    recalls = {RecallSchema.Usage}.recalls + excluded.recalls
                """);
            cmd.Parameters.Add(new() { Value = mine.Select(r => r.Tenant).ToArray() });
            cmd.Parameters.Add(new() { Value = mine.Select(r => r.Id).ToArray() });
            cmd.Parameters.Add(new() { Value = mine.Select(r => r.At).ToArray() });
            cmd.Parameters.Add(new() { Value = mine.Select(r => r.Count).ToArray() });
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }
}

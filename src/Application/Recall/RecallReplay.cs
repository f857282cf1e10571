using System.Threading.Channels;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Marten;
using Marten.Events;
using Marten.Services;
using JasperFx.Events.Projections;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Recall;

/// <summary>
/// RecallEntry's own replay for a full rebuild (issue 23's third item). Marten's daemon replays strictly one page after
/// another: it loads a page (PostgreSQL reads mt_events, the server deserialises), applies it, commits, and only then
/// loads the next, so the load of every page (about what the trivial projection's whole rebuild costs) adds to the
/// inserts. Here a loader reads and deserialises the next pages while the current one is applied and committed: the
/// same projection code (<see cref="ApplyPageAsync"/>) on the same page sizes (<see cref="RecallPages"/>), the same
/// teardown (Marten's own), and each page's rows committed in one transaction with the shard's progress, as the daemon
/// does, so a process that dies mid-replay leaves the progress of its last page and the rebuild's marker: the shard
/// carries on from there when it starts, and its first batch counts the statistics (as after the daemon's rebuild).
/// The caller stops the shard before and starts it after (ProjectionOperations.StartRebuildAsync). A daemon batch that
/// runs meanwhile anyway fails (<see cref="ApplyAsync"/>), and the progress is moved only from the value this replay
/// last wrote, so neither writes beside the other. AETHERRA_RECALL_REPLAY=daemon replays through the daemon instead.
/// </summary>
public sealed partial class RecallProjection
{
    /// <summary>Set while <see cref="ReplayAsync"/> runs: a daemon batch then fails instead of writing beside it.</summary>
    private volatile bool replaying;

    private const string Shard = Name + ":All";

    /// <summary>The time the replay's pages spent in the projection's own code (the rest of their writing is the database's).</summary>
    private long replayApplyTicks, replayWriteTicks;

    /// <summary>Pages written at once (AETHERRA_RECALL_REPLAY_WRITERS=1: one after the other).</summary>
    private static int ReplayWriters => MeasurementSwitches.RecallReplayWriters;

    /// <summary>For a test: the replay fails once its first page has committed (the rebuild then falls back to the daemon's).</summary>
    public bool FailReplayAfterFirstPage { get; set; }

    public bool ReplaysItself =>
        !MeasurementSwitches.RecallReplayByDaemon && !MeasurementSwitches.RecallRebuildCurrent && !MeasurementSwitches.RecallRowWrites;

    public async Task ReplayAsync(IDocumentStore store, long ceiling, CancellationToken ct)
    {
        var progression = $"{store.Options.Events.DatabaseSchemaName}.mt_event_progression";
        var database = store.Storage.Database;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        replaying = true;
        Interlocked.Exchange(ref replayApplyTicks, 0);
        Interlocked.Exchange(ref replayWriteTicks, 0);
        try
        {
            // The three large tables truncated first (the shard is stopped: nothing else writes them), so that the teardown's
            // delete finds them empty instead of deleting every old row (all dead until the first page truncates them anyway);
            // AETHERRA_RECALL_REPLAY_TEARDOWN=delete leaves it all to the teardown. The state table is the teardown's.
            if (!MeasurementSwitches.RecallReplayTeardownDeletes)
            {
                var n = RecallSchema.Names.In(store.Options.DatabaseSchemaName);
                await using var truncate = dataSource.CreateCommand($"truncate {n.Entries}, {n.Terms}, {n.Subjects}");
                await truncate.ExecuteNonQueryAsync(ct);
            }
            // Marten's own teardown, as its rebuild does it: the tables emptied, the shard's progress and its dead letters gone.
            await ((IEventStore<IDocumentOperations, IQuerySession>)store).TeardownExistingProjectionStateAsync(
                (IEventDatabase)database, Name, ct);
            await using (var start = dataSource.CreateCommand($"insert into {progression} (name, last_seq_id) values ($1, 0) on conflict (name) do nothing"))
            {
                start.Parameters.Add(new() { Value = Shard });
                await start.ExecuteNonQueryAsync(ct);
            }

            var size = pages.RebuildPageSize;
            // One page waits in the channel while the next is read: the loader stays at most two pages ahead.
            var channel = Channel.CreateBounded<Page>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var loading = new long[1];
            var loader = Task.Run(() => LoadAheadAsync(store, ceiling, size, channel.Writer, loading, stop.Token), CancellationToken.None);
            long floor = 0;
            var (count, pagesWritten) = (0, 0);
            // Where the replay's time goes: waiting for the loader (what the overlap did not hide) and writing pages.
            var waited = TimeSpan.Zero;
            // A page written beside the next one (two transactions at once, so the inserts' text vectors are computed on both
            // cores): a page of recordings only, whose rows depend on no row of the page before (an update, an end or a
            // forgetting might, so such a page waits for every page before it, and the next waits for it), and never beside the
            // first (it drops the indexes and truncates). Its progress still moves only from the previous page's ceiling, and
            // only once that page has committed (it waits for it before its update and commit), so the pages commit in order;
            // if one fails, the next fails too.
            var writes = new List<Task>();
            Task? previous = null, older = null;
            try
            {
                while (true)
                {
                    var before = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (!await channel.Reader.WaitToReadAsync(stop.Token) || !channel.Reader.TryRead(out var next))
                    {
                        // The loader's failure, if it failed.
                        await channel.Reader.Completion;
                        break;
                    }
                    waited += System.Diagnostics.Stopwatch.GetElapsedTime(before);
                    // A full page ends at its last event; the last page, shorter, at the ceiling (the events after its last one
                    // up to the ceiling are not the projection's).
                    var (page, texts) = next;
                    var to = page.Count < size ? ceiling : page[^1].Sequence;
                    count += page.Count;
                    var alone = ReplayWriters < 2 || pagesWritten == 0 || page.Any(e => e.Data is not MemoryRecorded);
                    // At most two pages at once; a page alone starts once every page before it has committed.
                    if (older is not null) await older;
                    older = null;
                    if (alone && previous is not null) await previous;
                    var writing = WritePageAsync(store, progression, page, texts, floor, to, alone ? null : previous, stop.Token);
                    writes.Add(writing);
                    pagesWritten++;
                    floor = to;
                    if (alone)
                    {
                        await writing;
                        previous = null;
                        if (FailReplayAfterFirstPage && pagesWritten == 1) throw new InvalidOperationException("the replay failed (a test's fault)");
                    }
                    else (older, previous) = (previous, writing);
                }
                if (older is not null) await older;
                if (previous is not null) await previous;
            }
            finally
            {
                stop.Cancel();
                await loader;
                // Nothing is left writing when the replay ends: a page still being written when another failed is cancelled
                // (rolled back) first.
                await Task.WhenAll(writes).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            if (floor < ceiling) await WritePageAsync(store, progression, [], [], floor, ceiling, null, ct);
            log.LogInformation(
                "RecallEntry replayed {Events} events to sequence {Ceiling} in {Milliseconds} ms (its own replay, {Pages} pages of up to {Size}): loading {Loading} ms beside writing {Writing} ms in all (the projection's code {Applying} ms of it; {Writers} at once), waited for pages {Waiting} ms",
                count, ceiling, (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, pagesWritten, size,
                (long)TimeSpan.FromTicks(Interlocked.Read(ref loading[0])).TotalMilliseconds,
                (long)TimeSpan.FromTicks(Interlocked.Read(ref replayWriteTicks)).TotalMilliseconds,
                (long)TimeSpan.FromTicks(Interlocked.Read(ref replayApplyTicks)).TotalMilliseconds, ReplayWriters, (long)waited.TotalMilliseconds);
        }
        finally
        {
            replaying = false;
        }
    }

    /// <summary>
    /// Reads and deserialises the projection's events in pages, ahead of their writing: the daemon's page query (its event
    /// types, every tenant, archived events left out, in sequence order) through Marten's own event reader.
    /// </summary>
    private async Task LoadAheadAsync(
        IDocumentStore store, long ceiling, int size, ChannelWriter<Page> writer, long[] loading, CancellationToken ct)
    {
        try
        {
            var options = SessionOptions.ForDatabase(store.Storage.Database);
            options.AllowAnyTenant = true;
            long from = 0;
            while (true)
            {
                List<IEvent> page;
                var before = System.Diagnostics.Stopwatch.GetTimestamp();
                await using (var session = store.QuerySession(options))
                {
                    var types = HandledTypes;
                    page = (await session.Events.QueryAllRawEvents()
                        .Where(e => e.AnyTenant() && e.Sequence > from && e.Sequence <= ceiling && e.EventTypesAre(types))
                        .OrderBy(e => e.Sequence).Take(size).ToListAsync(ct)).ToList();
                }
                if (page.Count == 0) break;
                // The contents are opened here too, with each subject's key as it is now (as the daemon's apply opens them a
                // moment after its load).
                var texts = await OpenContentAsync(page, ct);
                Interlocked.Add(ref loading[0], System.Diagnostics.Stopwatch.GetElapsedTime(before).Ticks);
                await writer.WriteAsync(new Page(page, texts), ct);
                if (page.Count < size) break;
                from = page[^1].Sequence;
            }
            writer.Complete();
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
        }
    }

    /// <summary>
    /// One page in one transaction: the projection's SQL, the dead letters of events it refused (skipped and recorded, as
    /// the daemon's SkipApplyErrors does), and the shard's progress moved from <paramref name="floor"/> to
    /// <paramref name="ceiling"/> (failing if anything else moved it), once <paramref name="previous"/> (the page before, when
    /// written beside this one) has committed.
    /// </summary>
    private async Task WritePageAsync(
        IDocumentStore store, string progression, List<IEvent> events, Dictionary<IEvent, string> texts, long floor, long ceiling,
        Task? previous, CancellationToken ct)
    {
        await Task.Yield();
        var writing = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var dead = new List<DeadLetterEvent>();
            while (true)
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                await using var tx = await connection.BeginTransactionAsync(ct);
                var options = SessionOptions.ForTransaction(tx);
                options.AllowAnyTenant = true;
                await using var session = store.LightweightSession(options);
                var applying = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await ApplyPageAsync(session, events, ct, texts);
                }
                catch (ApplyEventException e) when (e.Event is { } refused && events.Remove(refused))
                {
                    texts.Remove(refused);
                    log.LogWarning(e, "RecallEntry's replay skips event {Sequence}: {Message}", refused.Sequence, e.Message);
                    dead.Add(new DeadLetterEvent(refused, new ShardName(Name), e));
                    continue;
                }
                finally
                {
                    Interlocked.Add(ref replayApplyTicks, System.Diagnostics.Stopwatch.GetElapsedTime(applying).Ticks);
                }
                foreach (var letter in dead) session.Store(letter);
                await session.SaveChangesAsync(ct);
                // The page before, written beside this one, commits first (it failed: so does this one).
                if (previous is not null) await previous;
                await using var advance = new NpgsqlCommand(
                    $"update {progression} set last_seq_id = $1, last_updated = transaction_timestamp() where name = $2 and last_seq_id = $3",
                    connection, tx);
                advance.Parameters.Add(new() { Value = ceiling });
                advance.Parameters.Add(new() { Value = Shard });
                advance.Parameters.Add(new() { Value = floor });
                if (await advance.ExecuteNonQueryAsync(ct) != 1)
                    throw new InvalidOperationException($"{Shard}'s progress is no longer {floor}: something else wrote it during the replay");
                await tx.CommitAsync(ct);
                return;
            }
        }
        finally
        {
            Interlocked.Add(ref replayWriteTicks, System.Diagnostics.Stopwatch.GetElapsedTime(writing).Ticks);
        }
    }

    /// <summary>A page of the replay: its events, and the contents opened with their keys.</summary>
    private sealed record Page(List<IEvent> Events, Dictionary<IEvent, string> Texts);
}

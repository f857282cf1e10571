using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;
using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Logging;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

/// <summary>One single memory write waiting in its tenant's lane, and how it ended.</summary>
public sealed class PendingWrite(MemoryToRecord item, CommandContext command, CancellationToken ct)
{
    public MemoryToRecord Item { get; } = item;
    public CommandContext Command { get; } = command;
    public CancellationToken Cancellation { get; } = ct;

    /// <summary>Set with <see cref="WriteTurn.Done"/>: the answer, exactly as the write alone would have given it.</summary>
    public RecordMemoryResult? Result { get; internal set; }

    /// <summary>Completed by whoever ran this request's turn (continuations on the pool, not on the runner's thread).</summary>
    internal TaskCompletionSource<WriteTurn> Turn { get; set; } = NewTurn();

    /// <summary>Set for a request told to lead: the requests its transaction takes, itself first.</summary>
    internal List<PendingWrite>? Batch { get; set; }

    internal static TaskCompletionSource<WriteTurn> NewTurn() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What a write waiting in its lane is told.</summary>
public enum WriteTurn
{
    /// <summary>Written (or deduplicated) and committed with the others: <see cref="PendingWrite.Result"/>.</summary>
    Done,

    /// <summary>This request runs the next transaction, for itself and whatever queued behind it.</summary>
    Lead,

    /// <summary>The batch failed (nothing of it committed): it writes on its own, by the per-write path.</summary>
    Alone,
}

/// <summary>
/// A tenant's lane as it stands: whether one of its write transactions is in flight, how many writes wait for the next,
/// how many transactions took more than one write and how many writes they took, and how many writes a failed batch
/// sent alone.
/// </summary>
public readonly record struct WriteLaneState(bool Running, int Waiting, long Batches, long Requests, long FellBack);

/// <summary>
/// Group commit of concurrent single memory writes (issue 22), in ClaimBatch's design. A tenant's writes that arrive
/// while one of its write transactions is in flight wait in the tenant's lane, and the next transaction takes them all
/// (up to <see cref="MaxRequests"/>): one connection and BEGIN, the subjects' keys in sorted subject order (cached keys
/// proven in the commit's batch, as a write alone proves them), one dedup query for every request's keyed hash, the
/// domain's decision over all of them (the same content twice in the batch is recorded once and the second answered
/// with the first's id), then one Marten batch with each request's own memory stream and its own audit stream, each
/// event stamped with its own request's actor and correlation id, and one COMMIT. Each request is answered only after
/// that commit, with the sequence of its own last event (its audit record's, as alone). No delay is added: a batch is
/// whatever queued while the previous transaction ran, and a write that finds its lane idle runs alone by the per-write
/// path (<see cref="MemoryWriter"/>), at its cost. A batch that fails for any reason (a unique violation from a writer
/// outside the lane, a destroyed key, a deadlock) rolled back whole (Marten writes tombstones for its sequences): every
/// request in it then writes alone, with the per-write path's own retries, so one request never fails the others.
/// MeasurementSwitches.WriteOneByOne (AETHERRA_WRITE_BATCH=off): every write by the per-write path.
/// </summary>
public static class MemoryWriteBatch
{
    /// <summary>Most requests one transaction takes (the rest wait for the next).</summary>
    public const int MaxRequests = 64;

    private static readonly ConditionalWeakTable<IDocumentStore, ConcurrentDictionary<string, Lane>> Lanes = new();

    /// <summary>A tenant's queue of waiting writes, whether one of its write transactions is in flight, and its counts.</summary>
    private sealed class Lane
    {
        public readonly object Gate = new();
        public readonly List<PendingWrite> Waiting = [];
        public bool Running;
        public long Batches, Requests, FellBack;
    }

    private static Lane LaneOf(IDocumentStore store, string tenant) => Lanes.GetValue(store, _ => new()).GetOrAdd(tenant, _ => new Lane());

    /// <summary>The tenant's lane as it stands (tests prove with it that writes were taken together).</summary>
    public static WriteLaneState State(IDocumentStore store, string tenant)
    {
        var lane = LaneOf(store, tenant);
        lock (lane.Gate) return new(lane.Running, lane.Waiting.Count, lane.Batches, lane.Requests, lane.FellBack);
    }

    /// <summary>Writes <paramref name="write"/> through its tenant's lane; <paramref name="alone"/> is the per-write path.</summary>
    /// <param name="log">Logs each batch's size and outcome at debug, when enabled.</param>
    public static async Task<RecordMemoryResult> WriteAsync(PendingWrite write, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock,
        Func<PendingWrite, Task<RecordMemoryResult>> alone, ILogger? log = null)
    {
        var lane = LaneOf(store, write.Command.Tenant);
        bool lead;
        lock (lane.Gate)
        {
            lead = !lane.Running;
            if (lead) lane.Running = true;
            else lane.Waiting.Add(write);
        }
        List<PendingWrite> batch = [write];
        if (!lead)
        {
            switch (await write.Turn.Task)
            {
                case WriteTurn.Done: return write.Result!;
                case WriteTurn.Alone: return await alone(write);
            }
            // Lead: the previous leader took this request's batch out of the queue for it (this request first).
            batch = write.Batch!;
            write.Batch = null;
            write.Turn = PendingWrite.NewTurn();
        }

        try
        {
            if (batch.Count == 1)
            {
                // Alone in the lane: the per-write path, at its cost.
                write.Result = await alone(write);
                return write.Result;
            }
            await RunAsync(batch, lane, store, keys, clock, log is not null && log.IsEnabled(LogLevel.Debug) ? log : null);
        }
        finally
        {
            // The next transaction starts now, for whatever queued meanwhile: its leader is the oldest waiting request.
            PendingWrite? next = null;
            lock (lane.Gate)
            {
                if (lane.Waiting.Count == 0) lane.Running = false;
                else
                {
                    var n = Math.Min(lane.Waiting.Count, MaxRequests);
                    next = lane.Waiting[0];
                    next.Batch = lane.Waiting.GetRange(0, n);
                    lane.Waiting.RemoveRange(0, n);
                }
            }
            next?.Turn.TrySetResult(WriteTurn.Lead);
        }

        // This request was part of its own batch: its turn holds its outcome.
        return await write.Turn.Task == WriteTurn.Alone ? await alone(write) : write.Result!;
    }

    /// <summary>Runs one batch and completes every request's turn (the leader's included); never throws.</summary>
    private static async Task RunAsync(List<PendingWrite> batch, Lane lane, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock,
        ILogger? log)
    {
        var live = new List<PendingWrite>(batch.Count);
        foreach (var p in batch)
            if (p.Cancellation.IsCancellationRequested) p.Turn.TrySetCanceled(p.Cancellation);
            else live.Add(p);
        if (live.Count == 0) return;
        if (live.Count == 1)
        {
            live[0].Turn.TrySetResult(WriteTurn.Alone);
            return;
        }
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await WriteTogetherAsync(live, store, keys, clock, CancellationToken.None);
        }
        catch (Exception e)
        {
            // Nothing committed. A destroyed key (its subject forgotten, maybe on another node): drop the batch's cached
            // keys. Then each request writes alone, with the per-write path's retries (a concurrent writer's content
            // found, a key read afresh), so one request's trouble is its own.
            if (Infrastructure.Database.StoreFailures.Postgres(e)?.SqlState == SubjectKeyStore.KeyGoneSqlState)
                foreach (var subject in live.Select(p => p.Item.Subject).Distinct(StringComparer.Ordinal)) keys.Evict(live[0].Command.Tenant, subject);
            lock (lane.Gate) lane.FellBack += live.Count;
            log?.LogDebug("Write batch: {Requests} requests failed together ({Error}), each writes alone", live.Count, e.GetType().Name);
            foreach (var p in live) p.Turn.TrySetResult(WriteTurn.Alone);
            return;
        }
        // Committed: from here on nothing may send a request alone (it would be written twice).
        foreach (var p in live) p.Turn.TrySetResult(WriteTurn.Done);
        lock (lane.Gate)
        {
            lane.Batches++;
            lane.Requests += live.Count;
        }
        log?.LogDebug("Write batch: {Requests} requests, {Deduplicated} deduplicated, in {Ms:0.000} ms", live.Count,
            live.Count(p => p.Result!.Deduplicated), System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>
    /// One transaction for all of <paramref name="requests"/> (one tenant's): sets each request's
    /// <see cref="PendingWrite.Result"/> and marks its command audited once the commit is through. Throws when the
    /// transaction fails (nothing committed, no result set).
    /// </summary>
    public static async Task WriteTogetherAsync(IReadOnlyList<PendingWrite> requests, IDocumentStore store, SubjectKeyStore keys,
        TimeProvider clock, CancellationToken ct)
    {
        var tenant = requests[0].Command.Tenant;
        if (requests.Any(r => r.Command.Tenant != tenant)) throw new ArgumentException("one tenant's writes only", nameof(requests));
        await using var session = store.OpenFor(requests[0].Command);
        var connection = await session.BeginAsync(ct);
        var now = clock.GetUtcNow();

        // The keys as a write alone takes them, in sorted subject order (two transactions then wait on each other in one
        // order): a cached key is proven in the commit's batch, another read or created under FOR KEY SHARE now.
        var keysBySubject = await MemoryWriter.TakeKeysAsync(session, () => Task.FromResult(connection), tenant,
            requests.Select(r => r.Item.Subject), keys, optimistic: true, ct);

        var items = requests.Select(r => r.Item).ToList();
        var hashes = items.Select(i => MemoryContent.Hash(keysBySubject[i.Subject], i.Content, i.Subject, i.Agent)).ToArray();
        var known = await MemoryWriter.FindKnownAsync(session, connection, hashes.Distinct().ToArray(), ct);
        // The same decision as a batch import's: content already held is answered with its memory, and the same content
        // twice among these requests is recorded once, the later request answered with the earlier one's id.
        var (results, recorded) = RecordingMemory.Decide(items, hashes, known, Guid.CreateVersion7,
            (id, item) => MemoryContent.Seal(keysBySubject[item.Subject], tenant, id, item.Content), now);

        // Each request's memory stream, then each request's audit record, every event stamped with its own request's
        // actor and correlation (Marten fills only what an event leaves unset from the session). The audit records go
        // last, as alone: each request's answer is its own last event's sequence, its audit record's.
        var memoryEvents = new IEvent?[requests.Count];
        var next = 0;
        for (var i = 0; i < requests.Count; i++)
        {
            if (results[i].Deduplicated) continue;
            var e = recorded[next++];
            memoryEvents[i] = Stamp(session.Events.StartStream<MemoryState>(e.MemoryId, e), requests[i].Command);
        }
        var auditEvents = new IEvent[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            var command = requests[i].Command;
            var status = Outcomes.StatusOf(results[i].Deduplicated ? Outcome.Done : Outcome.Created);
            auditEvents[i] = Stamp(session.Events.StartStream(command.RequestId, AuditTrail.Record(command, results[i].Id.ToString(), status, now)), command);
        }

        await session.SaveChangesAsync(ct);

        for (var i = 0; i < requests.Count; i++)
        {
            var r = results[i];
            var sequence = Math.Max(auditEvents[i].Sequence, memoryEvents[i]?.Sequence ?? 0);
            requests[i].Result = new RecordMemoryResult(r.Id, r.Version, r.ContentHash, r.Deduplicated, sequence);
            requests[i].Command.Audited = true;
        }
    }

    /// <summary>The stream's one event, with its own request's metadata as a session of its own would write it.</summary>
    private static IEvent Stamp(StreamAction stream, CommandContext command)
    {
        var e = stream.Events[0];
        e.UserName = command.Actor;
        e.CorrelationId = command.Correlation ?? command.RequestId.ToString();
        return e;
    }
}

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Aetherra.Application.Agents;
using Aetherra.Application.Audit;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Tasks;
using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.EventStore;
using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Tasks;

/// <summary>One claim request waiting in a tenant's lane, and how it ended.</summary>
public sealed class PendingClaim(ClaimTask body, CommandContext command, CancellationToken ct)
{
    public string Agent { get; } = body.Agent!;
    public TimeSpan Lease { get; } = TimeSpan.FromSeconds(body.LeaseSeconds ?? TaskLimits.DefaultLeaseSeconds);
    public CommandContext Command { get; } = command;
    public CancellationToken Cancellation { get; } = ct;

    /// <summary>Set with <see cref="ClaimTurn.Done"/>: the claimed task, or null when none was ready.</summary>
    public ClaimedTask? Result { get; internal set; }

    /// <summary>
    /// Completed by whoever ran this request's turn (its continuations run on the pool, not the runner's thread): while
    /// it waits, with its outcome or with Lead; a leader's is renewed when it takes its batch, for its own outcome.
    /// </summary>
    internal TaskCompletionSource<ClaimTurn> Turn { get; set; } = NewTurn();

    /// <summary>Set for a request told to lead: the requests its transaction takes, itself first.</summary>
    internal List<PendingClaim>? Batch { get; set; }

    /// <summary>The request's turn as it stands (a refusal or the batch's failure faults it).</summary>
    public Task<ClaimTurn> Outcome => Turn.Task;

    internal static TaskCompletionSource<ClaimTurn> NewTurn() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What a request waiting in its lane is told.</summary>
public enum ClaimTurn
{
    /// <summary>Claimed (or answered "no task ready") and committed: <see cref="PendingClaim.Result"/>.</summary>
    Done,

    /// <summary>This request runs the next transaction, for itself and whatever queued behind it.</summary>
    Lead,

    /// <summary>The batch could not serve it simply: it claims on its own, by the per-claim path.</summary>
    Alone,
}

/// <summary>
/// Group commit of concurrent claims (issue 17). A tenant's claims that arrive while one of its claim transactions is
/// in flight wait in the tenant's lane, and the next transaction takes them all: one BEGIN and one queue query that
/// locks up to as many ready rows as there are requests (SKIP LOCKED, the queue's order, dependencies complete, an
/// agent's own tasks only to it, and the expired-lease walk beside it), the global sequences for all of them, the
/// tasks handed to the requests in their order of arrival in C#, then every request's rows (its events, its own audit
/// record, the documents) and one COMMIT in one round trip. Every request is answered only after that commit; a batch
/// that fails fails every request in it, or, on a version conflict (the whole batch rolled back), sends each to the
/// per-claim path. No delay is added: a batch is whatever queued while the previous transaction ran, and a request
/// that finds its lane idle runs alone by today's per-claim path, so a single claimer claims as before.
/// MeasurementSwitches.ClaimOneByOne: every claim by the per-claim path.
/// </summary>
public static class ClaimBatch
{
    /// <summary>Most requests one transaction takes (the rest wait for the next).</summary>
    public const int MaxRequests = 64;

    private static readonly ConditionalWeakTable<IDocumentStore, ConcurrentDictionary<string, Lane>> Lanes = new();

    /// <summary>A tenant's queue of waiting claims, and how many of its claim transactions are in flight.</summary>
    private sealed class Lane
    {
        public readonly object Gate = new();
        public readonly List<PendingClaim> Waiting = [];
        public int Running;
    }

    /// <summary>
    /// Claims for <paramref name="claim"/>'s request through the tenant's lane. <paramref name="alone"/> is the per-claim
    /// path (with its conflict retries), run for a request that runs alone.
    /// </summary>
    /// <param name="log">Logs each batch's size and outcome at debug (AETHERRA_LOG_DEBUG=Aetherra.Application.Tasks), when enabled.</param>
    public static async Task<ClaimedTask?> ClaimAsync(PendingClaim claim, IDocumentStore store, TimeProvider clock, ClaimConnections? connections,
        Func<PendingClaim, Task<ClaimedTask?>> alone, ILogger? log = null)
    {
        var lane = Lanes.GetValue(store, _ => new()).GetOrAdd(claim.Command.Tenant, _ => new Lane());
        bool lead;
        lock (lane.Gate)
        {
            lead = lane.Running < Infrastructure.MeasurementSwitches.ClaimBatchFlights;
            if (lead) lane.Running++;
            else lane.Waiting.Add(claim);
        }
        List<PendingClaim> batch = [claim];
        if (!lead)
        {
            switch (await claim.Turn.Task)
            {
                case ClaimTurn.Done: return claim.Result;
                case ClaimTurn.Alone: return await alone(claim);
            }
            // Lead: the previous leader took this request's batch out of the queue for it (this request first), and
            // the batch answers it afresh.
            batch = claim.Batch!;
            claim.Batch = null;
            claim.Turn = PendingClaim.NewTurn();
        }

        try
        {
            if (batch.Count == 1)
            {
                // Alone in the lane: today's per-claim path, at today's cost.
                claim.Result = await alone(claim);
                return claim.Result;
            }
            await RunAsync(batch, store, clock, connections, log is not null && log.IsEnabled(LogLevel.Debug) ? log : null);
        }
        finally
        {
            // The next transaction starts now, for whatever queued meanwhile: its leader is the oldest waiting request.
            PendingClaim? next = null;
            lock (lane.Gate)
            {
                if (lane.Waiting.Count == 0) lane.Running--;
                else
                {
                    var n = Math.Min(lane.Waiting.Count, MaxRequests);
                    next = lane.Waiting[0];
                    next.Batch = lane.Waiting.GetRange(0, n);
                    lane.Waiting.RemoveRange(0, n);
                }
            }
            next?.Turn.TrySetResult(ClaimTurn.Lead);
        }

        // This request was part of its own batch: its turn holds its outcome.
        return await claim.Turn.Task switch
        {
            ClaimTurn.Alone => await alone(claim),
            _ => claim.Result,
        };
    }

    /// <summary>Runs one batch and completes every request's turn (this one's included).</summary>
    private static async Task RunAsync(List<PendingClaim> batch, IDocumentStore store, TimeProvider clock, ClaimConnections? connections, ILogger? log)
    {
        var live = new List<PendingClaim>(batch.Count);
        foreach (var p in batch)
            if (p.Cancellation.IsCancellationRequested) p.Turn.TrySetCanceled(p.Cancellation);
            else live.Add(p);
        if (live.Count == 0) return;
        try
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            var turns = await ClaimTogetherAsync(live, store, clock, connections, CancellationToken.None);
            for (var i = 0; i < live.Count; i++) live[i].Turn.TrySetResult(turns[i]);
            log?.LogDebug("Claim batch: {Requests} requests, {Claimed} claimed, {Alone} sent alone, in {Ms:0.000} ms", live.Count,
                live.Count(p => p.Result is not null), turns.Count(t => t == ClaimTurn.Alone),
                System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        catch (Exception e) when (EventRows.IsVersionConflict(e))
        {
            // Another writer appended to a task's stream first; the whole batch rolled back: each claims again alone,
            // with the per-claim path's conflict retries.
            foreach (var p in live) p.Turn.TrySetResult(ClaimTurn.Alone);
        }
        catch (Exception e)
        {
            foreach (var p in live) p.Turn.TrySetException(e);
        }
    }

    /// <summary>A request's part of a batch: the tasks it walked (settled or claimed) and its claim, if any.</summary>
    private sealed class Share(PendingClaim request)
    {
        public PendingClaim Request { get; } = request;
        public List<(AgentTask Task, IReadOnlyList<object> Events)> Walked { get; } = [];
        public TaskClaimed? Claim;
        public AgentTask? Task;
    }

    /// <summary>
    /// One transaction for all of <paramref name="requests"/> (two round trips, three when settling tasks on the way
    /// needs more sequences than the queue query took). Sets each request's <see cref="PendingClaim.Result"/> or
    /// exception and answers each one's turn: Done, or Alone for one the batch could not serve simply (a walk that hit
    /// its limit before this request found a task it may take). Throws when the transaction fails (nothing committed).
    /// </summary>
    public static async Task<ClaimTurn[]> ClaimTogetherAsync(IReadOnlyList<PendingClaim> requests, IDocumentStore store, TimeProvider clock,
        ClaimConnections? connections, CancellationToken ct)
    {
        var tenant = requests[0].Command.Tenant;
        var serializer = store.Options.Serializer();
        var turns = new ClaimTurn[requests.Count];
        await using var connection = connections is not null
            ? connections.For(tenant).CreateConnection()
            : (await store.Storage.FindOrCreateDatabase(tenant)).CreateConnection();
        await connection.OpenAsync(ct);
        var committed = false;
        var reserved = new List<long>();
        try
        {
            var now = clock.GetUtcNow();
            var (suspended, ready, expired, fromQuery) = await TaskQueue.NextForAllAsync(connection, serializer, tenant,
                requests.Select(r => r.Agent).ToArray(), now, requests.Count, ct);
            var sequences = new Queue<long>(fromQuery);
            reserved.AddRange(fromQuery);

            // The tasks in the queue's order (both walks merged), handed out in the requests' order of arrival; a task a
            // request may not take stays for the next. A request that runs out of tasks is answered "no task ready" only
            // when both walks returned fewer rows than asked for (the queue holds no more it could take).
            var candidates = ready.Concat(expired).ToList();
            candidates.Sort(TaskQueue.Before);
            var taken = new bool[candidates.Count];
            var full = ready.Count >= requests.Count || expired.Count >= requests.Count;
            var shares = new List<Share?>(requests.Count);
            for (var i = 0; i < requests.Count; i++)
            {
                var request = requests[i];
                if (suspended.Contains(request.Agent))
                {
                    request.Turn.TrySetException(new DomainRuleViolated(AgentStatuses.Refusal(request.Agent, "claim tasks")));
                    turns[i] = ClaimTurn.Done;
                    shares.Add(null);
                    continue;
                }
                var share = new Share(request);
                for (var c = 0; c < candidates.Count && share.Claim is null; c++)
                {
                    var task = candidates[c];
                    if (taken[c] || (task.Agent is not null && task.Agent != request.Agent)) continue;
                    taken[c] = true;
                    var (events, claim) = TaskRules.Claim(task, request.Agent, request.Lease, now);
                    share.Walked.Add((task, events));
                    share.Claim = claim;
                    share.Task = task;
                }
                if (share.Claim is null && full)
                {
                    // Not served simply: it claims on its own after the commit. The tasks it walked (whose lease or
                    // deadline ran out) stay as they are, for a claim with an audit record of its own to settle.
                    turns[i] = ClaimTurn.Alone;
                    share.Walked.Clear();
                }
                else turns[i] = ClaimTurn.Done;
                shares.Add(share);
            }

            // Sequences: each share's task events, then its audit record (none for a request sent alone).
            var needed = 0;
            for (var i = 0; i < shares.Count; i++)
                if (shares[i] is { } s && turns[i] == ClaimTurn.Done) needed += s.Walked.Sum(w => w.Events.Count) + 1;
            if (needed > sequences.Count)
                foreach (var s in await EventRows.ReserveSequencesAsync(connection, store.Options.Events.DatabaseSchemaName, needed - sequences.Count, ct))
                {
                    sequences.Enqueue(s);
                    reserved.Add(s);
                }

            await using var batch = new NpgsqlBatch(connection);
            var documents = new List<NpgsqlBatchCommand>();
            var answers = new (PendingClaim Request, ClaimedTask? Result)[requests.Count];
            for (var i = 0; i < shares.Count; i++)
            {
                if (shares[i] is not { } share) continue;
                var command = share.Request.Command;
                var rows = new EventRows(store, tenant, command.Actor, command.Correlation ?? command.RequestId.ToString());
                ClaimTaskHandler.AddWalked(batch, documents, rows, tenant, share.Walked, sequences, serializer);
                if (turns[i] != ClaimTurn.Done) continue;
                var claim = share.Claim;
                var recorded = ClaimTaskHandler.AddAuditRecord(batch, rows, command, claim, now, sequences.Dequeue(), serializer);
                var task = share.Task;
                answers[i] = (share.Request, claim is null
                    ? null
                    : new ClaimedTask(task!.Id, task.Title, task.Priority, task.Input, claim.Attempt, claim.LeaseUntil, recorded.Sequence));
            }
            foreach (var d in documents) batch.BatchCommands.Add(d);
            // The sequences taken and not used (a request sent alone, a locked row nobody could take) as tombstones.
            if (sequences.Count > 0)
                foreach (var t in Gaps(store, tenant).Tombstones(sequences)) batch.BatchCommands.Add(t);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
            await batch.ExecuteNonQueryAsync(ct);
            committed = true;

            foreach (var (request, result) in answers)
            {
                if (request is null) continue;
                request.Result = result;
                request.Command.Audited = true;
            }
            return turns;
        }
        finally
        {
            if (!committed) await ClaimTaskHandler.RollbackAsync(connection, Gaps(store, tenant), reserved);
        }
    }

    /// <summary>The tombstones' writer for a tenant (no actor or correlation: a tombstone carries none).</summary>
    private static EventRows Gaps(IDocumentStore store, string tenant) => new(store, tenant, null, null);
}

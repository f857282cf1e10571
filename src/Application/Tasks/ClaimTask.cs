using System.Diagnostics;
using System.Text.Json;
using Aetherra.Application.Agents;
using Aetherra.Application.Audit;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Tasks;
using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.EventStore;
using FluentValidation;
using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Tasks;

public sealed record ClaimTask(string? Agent, int? LeaseSeconds);

public sealed record ClaimedTask(Guid Id, string Title, int Priority, JsonElement? Input, int Attempt, DateTimeOffset LeaseUntil, long Sequence);

public sealed class ClaimTaskValidator : AbstractValidator<ClaimTask>
{
    public ClaimTaskValidator()
    {
        RuleFor(x => x.Agent).NotEmpty().MaximumLength(TaskLimits.MaxNameLength);
        RuleFor(x => x.LeaseSeconds).InclusiveBetween(1, TaskLimits.MaxLeaseSeconds);
    }
}

public static class ClaimTaskHandler
{
    /// <summary>Tasks settled on the way (last lease run out, deadline passed) before one is claimed or none is left.</summary>
    private const int MaxSettled = 50;

    /// <summary>
    /// Takes the next ready task for the agent under a lease, or null when none is ready. One transaction: the row
    /// lock (SKIP LOCKED), the claim and its audit record commit together, so a claimer that dies before the commit
    /// claimed nothing, and one that dies after holds the task only until its lease runs out. The queue's one query
    /// reads the agent's standing and the locked task's state: the claim's events are appended at the version that
    /// row holds (checked again at commit), with no read of the task's stream of its own.
    /// </summary>
    /// <remarks>
    /// Two round trips to PostgreSQL: BEGIN with the queue query, which also takes the events' global sequences
    /// from Marten's sequence; then the rows a Marten session would write (the task stream's version, the events,
    /// the audit stream and its event, the AuditEntry and TaskQueue documents folded by their own projections from
    /// these very events) with COMMIT, in one batch. A session needs five: the query, the sequences with the
    /// stream's row, the inline projection's load of the document the query just read, the writes, the commit.
    /// </remarks>
    /// <param name="log">Logs the claim's steps at debug (AETHERRA_LOG_DEBUG=Aetherra.Application.Tasks), when enabled.</param>
    /// <param name="connections">The claim's own pools (connections returned without a reset); null, or
    /// AETHERRA_CLAIM_CONNECTIONS=shared: Marten's pool.</param>
    /// <remarks>
    /// Concurrent claims of a tenant are taken together (<see cref="ClaimBatch"/>; AETHERRA_CLAIM_BATCH=off: each by
    /// itself); a claim alone in its tenant's lane takes the per-claim path below.
    /// </remarks>
    public static Task<ClaimedTask?> Handle(ClaimTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct, ILogger? log = null, ClaimConnections? connections = null)
    {
        var pool = Infrastructure.MeasurementSwitches.ClaimSharedConnections ? null : connections;
        var throughSession = Infrastructure.MeasurementSwitches.ClaimThroughSession;
        if (throughSession || Infrastructure.MeasurementSwitches.ClaimOneByOne)
            return ClaimAsync(body, command, store, clock, throughSession, ct, log, pool);
        return ClaimBatch.ClaimAsync(new PendingClaim(body, command, ct), store, clock, pool,
            p => ClaimAsync(body, p.Command, store, clock, throughSession: false, p.Cancellation, log, pool), log);
    }

    /// <summary>The claim by either path (tests compare the rows the two write).</summary>
    public static Task<ClaimedTask?> ClaimAsync(ClaimTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        bool throughSession, CancellationToken ct, ILogger? log = null, ClaimConnections? connections = null)
    {
        var agent = body.Agent!;
        var lease = TimeSpan.FromSeconds(body.LeaseSeconds ?? TaskLimits.DefaultLeaseSeconds);
        var steps = log is not null && log.IsEnabled(LogLevel.Debug) ? new ClaimSteps(log) : null;
        return throughSession
            ? ConflictPolicy.RetryAsync(() => ThroughSessionAsync(agent, lease, command, store, clock, ct))
            : ConflictPolicy.RetryAsync(() => WriteRowsAsync(agent, lease, command, store, clock, connections, steps, ct));
    }

    private static async Task<ClaimedTask?> WriteRowsAsync(string agent, TimeSpan lease, CommandContext command, IDocumentStore store,
        TimeProvider clock, ClaimConnections? connections, ClaimSteps? steps, CancellationToken ct)
    {
        steps?.Start();
        var serializer = store.Options.Serializer();
        await using var connection = connections is not null
            ? connections.For(command.Tenant).CreateConnection()
            : (await store.Storage.FindOrCreateDatabase(command.Tenant)).CreateConnection();
        await connection.OpenAsync(ct);
        steps?.Mark(ClaimSteps.Open);
        var committed = false;
        var rows = new EventRows(store, command.Tenant, command.Actor, command.Correlation ?? command.RequestId.ToString());
        var reserved = new List<long>();
        try
        {
            var now = clock.GetUtcNow();
            var (settled, claim, task, sequences) = await WalkAsync(connection, serializer, command.Tenant, agent, lease, now, ownTransaction: true, ct);
            reserved.AddRange(sequences);
            steps?.Mark(ClaimSteps.Queue);
            var needed = settled.Sum(s => s.Events.Count) + 1 - sequences.Count;
            if (needed > 0)
                foreach (var s in await EventRows.ReserveSequencesAsync(connection, store.Options.Events.DatabaseSchemaName, needed, ct))
                {
                    sequences.Enqueue(s);
                    reserved.Add(s);
                }
            steps?.Mark(ClaimSteps.Reserve);

            // In the order a session writes them: each stream's version and events, the audit stream and its event,
            // then the inline documents; the tombstones of sequences taken and not used last.
            await using var batch = new NpgsqlBatch(connection);
            var documents = new List<NpgsqlBatchCommand>();
            AddWalked(batch, documents, rows, command.Tenant, settled, sequences, serializer);
            var recorded = AddAuditRecord(batch, rows, command, claim, now, sequences.Dequeue(), serializer);
            foreach (var d in documents) batch.BatchCommands.Add(d);
            foreach (var t in rows.Tombstones(sequences)) batch.BatchCommands.Add(t);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
            steps?.Mark(ClaimSteps.Rows);
            try
            {
                await batch.ExecuteNonQueryAsync(ct);
                steps?.Mark(ClaimSteps.Commit);
            }
            catch (Exception e) when (EventRows.IsVersionConflict(e))
            {
                // Another writer appended to the task's stream first: retried as a session's version conflict is.
                throw new EventStreamUnexpectedMaxEventIdException(task!.Id, typeof(AgentTask), task.Version, -1);
            }
            committed = true;
            command.Audited = true;
            steps?.Log(settled.Count, batch.BatchCommands.Count);
            return claim is null ? null : new ClaimedTask(task!.Id, task.Title, task.Priority, task.Input, claim.Attempt, claim.LeaseUntil, recorded.Sequence);
        }
        finally
        {
            // Nothing of an unfinished claim stays: its row locks go with the rollback (a failed batch already
            // aborted the transaction; the rollback ends it before the connection goes back to the pool).
            if (!committed) await RollbackAsync(connection, rows, reserved);
        }
    }

    /// <summary>
    /// The rows of the tasks a claim walked (settled on the way, or claimed), in the order a session writes them: each
    /// task stream's version and events; and each task's TaskQueue document, folded from those events, added to
    /// <paramref name="documents"/> (the inline documents go after the audit record).
    /// </summary>
    internal static void AddWalked(NpgsqlBatch batch, List<NpgsqlBatchCommand> documents, EventRows rows, string tenant,
        IEnumerable<(AgentTask Task, IReadOnlyList<object> Events)> walked, Queue<long> sequences, ISerializer serializer)
    {
        foreach (var (current, events) in walked)
        {
            var state = current;
            var version = (long)current.Version;
            batch.BatchCommands.Add(rows.MoveStream(current.Id, version, version + events.Count));
            foreach (var data in events)
            {
                var e = rows.Prepare(current.Id, ++version, sequences.Dequeue(), data);
                batch.BatchCommands.Add(rows.Insert(e));
                state = TaskQueueProjection.Fold(state, e);
            }
            documents.Add(TaskQueue.Write(tenant, state, version, serializer));
        }
    }

    /// <summary>The claim request's own audit record (its stream, its event and its index row): the task claimed, or "no task ready".</summary>
    internal static IEvent AddAuditRecord(NpgsqlBatch batch, EventRows rows, CommandContext command, TaskClaimed? claim, DateTimeOffset now,
        long sequence, ISerializer serializer)
    {
        var recorded = rows.Prepare(command.RequestId, 1, sequence,
            AuditTrail.Record(command, claim?.TaskId.ToString(), Outcomes.StatusOf(claim is null ? Outcome.Nothing : Outcome.Done), now,
                claim is null ? "no task ready" : null));
        batch.BatchCommands.Add(rows.StartStream(command.RequestId, 1));
        batch.BatchCommands.Add(rows.Insert(recorded));
        batch.BatchCommands.Add(AuditIndexRow.Upsert(recorded, serializer));
        return recorded;
    }

    /// <summary>
    /// Ends an unfinished claim transaction: its row locks go with the rollback, before the connection goes back to the
    /// pool; then the sequences it took are written as tombstones, so the log keeps no gap (<see cref="EventRows.Tombstones"/>).
    /// </summary>
    internal static async Task RollbackAsync(NpgsqlConnection connection, EventRows rows, IReadOnlyCollection<long> reserved)
    {
        await RollbackAsync(connection);
        await rows.WriteTombstonesAsync(connection, reserved);
    }

    private static async Task RollbackAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open) return;
        try
        {
            await using var rollback = new NpgsqlCommand("rollback", connection);
            await rollback.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // A broken connection: PostgreSQL ends the transaction with it, and the pool discards it. The claim's own
            // failure is the one to report.
        }
    }

    private static async Task<ClaimedTask?> ThroughSessionAsync(
        string agent, TimeSpan lease, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var serializer = store.Options.Serializer();
        await using var session = store.OpenFor(command);
        var connection = await session.BeginAsync(ct);
        var now = clock.GetUtcNow();
        var (settled, claim, task, _) = await WalkAsync(connection, serializer, command.Tenant, agent, lease, now, ownTransaction: false, ct);
        foreach (var (current, events) in settled) session.Events.Append(current.Id, current.Version + events.Count, [.. events]);
        var sequence = await session.CommitAsync(command, claim?.TaskId.ToString(), claim is null ? Outcome.Nothing : Outcome.Done, now, ct,
            claim is null ? "no task ready" : null);
        return claim is null ? null : new ClaimedTask(task!.Id, task.Title, task.Priority, task.Input, claim.Attempt, claim.LeaseUntil, sequence);
    }

    /// <summary>
    /// The queue's walk both paths share: locks the next ready tasks, settles those whose lease or deadline ran out
    /// on the way and claims the first that can be, up to <see cref="MaxSettled"/>. With a transaction of its own,
    /// the first query opens it and takes the sequences a claim needs (the claim and its audit record, or the record
    /// alone); settled tasks on the way take theirs later.
    /// </summary>
    private static async Task<(List<(AgentTask Task, IReadOnlyList<object> Events)> Settled, TaskClaimed? Claim, AgentTask? Task, Queue<long> Sequences)>
        WalkAsync(NpgsqlConnection connection, ISerializer serializer, string tenant, string agent, TimeSpan lease, DateTimeOffset now,
            bool ownTransaction, CancellationToken ct)
    {
        var passed = new List<Guid>();
        var settled = new List<(AgentTask Task, IReadOnlyList<object> Events)>();
        var sequences = new Queue<long>();
        TaskClaimed? claim = null;
        AgentTask? task = null;
        while (claim is null && passed.Count < MaxSettled)
        {
            var first = ownTransaction && passed.Count == 0;
            var (suspended, candidates, reserved) = await TaskQueue.NextAsync(connection, serializer, tenant, agent, now, passed,
                begin: first, reserveIfNone: first ? 1 : 0, reserveIfAny: first ? 2 : 0, ct);
            foreach (var s in reserved) sequences.Enqueue(s);
            if (suspended) throw new DomainRuleViolated(AgentStatuses.Refusal(agent, "claim tasks"));
            if (candidates.Count == 0) break;
            foreach (var next in candidates)
            {
                task = next;
                (var events, claim) = TaskRules.Claim(task, agent, lease, now);
                settled.Add((task, events));
                passed.Add(task.Id);
                if (claim is not null) break;
            }
        }
        return (settled, claim, task, sequences);
    }
}

/// <summary>
/// A row-writing claim's steps at debug, in milliseconds: the connection checked out of the pool, the queue query's round
/// trip (BEGIN, the walk, the sequences), the sequences a settling claim fetches on top, the rows built (serialised),
/// the writes with COMMIT. A retried claim (version conflict) logs its last attempt's.
/// </summary>
internal sealed class ClaimSteps(ILogger log)
{
    public const int Open = 0, Queue = 1, Reserve = 2, Rows = 3, Commit = 4;
    private readonly long[] _at = new long[5];
    private long _start;

    public void Start()
    {
        _start = Stopwatch.GetTimestamp();
        Array.Clear(_at);
    }

    public void Mark(int step) => _at[step] = Stopwatch.GetTimestamp();

    public void Log(int tasks, int statements)
    {
        double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
        log.LogDebug(
            "Claim steps: connection {Open:0.000} ms, queue query {Queue:0.000} ms, more sequences {Reserve:0.000} ms, rows {Rows:0.000} ms, " +
            "writes and commit {Commit:0.000} ms ({Statements} statements, {Tasks} tasks walked); handler {Total:0.000} ms",
            Ms(_start, _at[Open]), Ms(_at[Open], _at[Queue]), Ms(_at[Queue], _at[Reserve]), Ms(_at[Reserve], _at[Rows]),
            Ms(_at[Rows], _at[Commit]), statements, tasks, Ms(_start, _at[Commit]));
    }
}

using System.Security.Cryptography;
using System.Text;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Operations;
using Aetherra.Infrastructure.Database;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Services;
using Marten.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Operations;

public sealed record DeadLetterView(
    Guid Id, string Projection, long Sequence, string? Tenant, string Error, string ErrorType, DateTimeOffset At);

public sealed record DeadLetterResolved(Guid Id, string Projection, long Sequence, string Outcome, long AuditSequence);

/// <summary>
/// Events an async projection could not apply. The daemon skips such an event (Marten's SkipApplyErrors) and
/// records it in its dead-letter table, so one bad event cannot stop a read model for every tenant; this makes
/// the skip loud: each new dead letter gets a <see cref="ProjectionEventSkipped"/> event (in the system's own
/// stream of that dead letter) and a warning in the log, their count is a vital (homeostasis raises a deviation
/// while any is pending), and the operator lists them and retries or skips each one. With tenants over several
/// databases each database's daemons record their own dead letters: they are counted, listed and announced in
/// every database (each announcement in the dead letter's own database).
/// </summary>
public sealed class DeadLetters(IDocumentStore store, TenantDatabases databases, TimeProvider clock, ILogger<DeadLetters> log)
    : BackgroundService
{
    /// <summary>How often new dead letters are looked for: an operator sees a skipped event within this.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private const string Actor = "projection-daemon";

    /// <summary>The dead letter's own stream: one per dead letter, in the system's (default) tenant.</summary>
    public static Guid StreamOf(Guid deadLetterId) =>
        new(MD5.HashData(Encoding.UTF8.GetBytes($"projection/dead-letter/{deadLetterId}")));

    public async Task<long> CountAsync(CancellationToken ct)
    {
        long count = 0;
        foreach (var database in await store.Storage.AllDatabases())
        {
            await using var session = Query(database);
            count += await session.Query<DeadLetterEvent>().LongCountAsync(ct);
        }
        return count;
    }

    /// <summary>A session of the system's (default) tenant in a database: the one store-wide session without placement.</summary>
    private IQuerySession Query(IMartenDatabase database) =>
        databases.Placed ? store.QuerySession(SessionOptions.ForDatabase(database)) : store.QuerySession();

    /// <summary>The database a dead letter is in: that of its event's tenant.</summary>
    private async Task<IMartenDatabase> DatabaseOfAsync(DeadLetterEvent dead) =>
        await store.Storage.FindOrCreateDatabase(databases.Of(dead.TenantId ?? "").Name);

    /// <summary>The pending dead letters, oldest event first (each announced by its event before it is listed).</summary>
    public async Task<IReadOnlyList<DeadLetterView>> ListAsync(CancellationToken ct)
    {
        var pending = await PendingAsync(ct);
        var closed = await AnnounceAsync(pending, ct);
        return pending.Where(d => !closed.Contains(d.Id)).Select(View).ToList();
    }

    /// <summary>
    /// Applies the event again, alone, through the projection's own code; on success the dead letter is gone.
    /// An event that still fails stays a dead letter and the answer says why. Meant for after a fix: when later
    /// events of the same stream were applied meanwhile, a rebuild of the projection is the sound repair.
    /// </summary>
    public async Task<DeadLetterResolved> RetryAsync(Guid id, CommandContext command, CancellationToken ct)
    {
        var dead = await FindAsync(id, ct);
        var source = ((DocumentStore)store).Options.Projections.All.FirstOrDefault(p => p.Name == dead.ProjectionName);
        if (source is not ProjectionWrapper<IDocumentOperations, IQuerySession> { Inner: { } projection })
            throw new DomainRuleViolated($"{dead.ProjectionName} cannot apply one event alone: rebuild it, then skip this dead letter");

        var tenant = dead.TenantId ?? StorageConstants.DefaultTenantId;
        await using (var apply = store.LightweightSession(tenant))
        {
            var events = await apply.Events.QueryAllRawEvents().Where(e => e.Sequence == dead.EventSequence).ToListAsync(ct);
            if (events.Count == 0) throw new DomainRuleViolated($"event {dead.EventSequence} is no longer in the store: skip this dead letter");
            try
            {
                await projection.ApplyAsync(apply, events, ct);
                await apply.SaveChangesAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new DomainRuleViolated($"{dead.ProjectionName} still cannot apply event {dead.EventSequence}: {Describe(e)}");
            }
        }
        return await ResolveAsync(dead, command, "retried",
            now => new DeadLetterRetried(dead.Id, dead.ProjectionName, dead.EventSequence, now), ct);
    }

    /// <summary>The operator accepts that the read model goes without this event: the dead letter is closed.</summary>
    public async Task<DeadLetterResolved> SkipAsync(Guid id, CommandContext command, CancellationToken ct)
    {
        var dead = await FindAsync(id, ct);
        return await ResolveAsync(dead, command, "skipped",
            now => new DeadLetterSkipped(dead.Id, dead.ProjectionName, dead.EventSequence, now), ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(PollInterval, clock);
        while (await timer.WaitForNextTickAsync(stop))
        {
            try
            {
                await AnnounceAsync(await PendingAsync(stop), stop);
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                log.LogWarning(e, "Could not look for dead-lettered projection events");
            }
        }
    }

    private async Task<DeadLetterResolved> ResolveAsync(
        DeadLetterEvent dead, CommandContext command, string outcome, Func<DateTimeOffset, object> fact, CancellationToken ct)
    {
        if ((await AnnounceAsync([dead], ct)).Contains(dead.Id)) throw new NotFound("dead letter");
        if (databases.Of(dead.TenantId ?? "") != databases.Of(command.Tenant))
            throw new DomainRuleViolated($"this dead letter is in the {databases.Of(dead.TenantId ?? "").Name} database: retry and skip work in the operator's own database only (docs/scaling.md); rebuild the projection instead");
        var now = clock.GetUtcNow();
        await using var session = store.OpenFor(command);
        var system = session.ForTenant(StorageConstants.DefaultTenantId);
        system.Delete(dead);
        system.Events.Append(StreamOf(dead.Id), fact(now));
        var sequence = await session.CommitAsync(command, dead.Id.ToString(), Outcome.Done, now, ct);
        log.LogWarning("Dead letter {Id} of {Projection} (event {Sequence}) {Outcome} by {Actor}",
            dead.Id, dead.ProjectionName, dead.EventSequence, outcome, command.Actor);
        return new DeadLetterResolved(dead.Id, dead.ProjectionName, dead.EventSequence, outcome, sequence);
    }

    private async Task<DeadLetterEvent> FindAsync(Guid id, CancellationToken ct)
    {
        foreach (var database in await store.Storage.AllDatabases())
        {
            await using var session = Query(database);
            if (await session.LoadAsync<DeadLetterEvent>(id, ct) is { } found) return found;
        }
        throw new NotFound("dead letter");
    }

    private async Task<IReadOnlyList<DeadLetterEvent>> PendingAsync(CancellationToken ct)
    {
        var pending = new List<DeadLetterEvent>();
        foreach (var database in await store.Storage.AllDatabases())
        {
            await using var session = Query(database);
            pending.AddRange(await session.Query<DeadLetterEvent>().OrderBy(d => d.EventSequence).ThenBy(d => d.Timestamp).Take(1000).ToListAsync(ct));
        }
        return pending.OrderBy(d => d.EventSequence).ThenBy(d => d.Timestamp).Take(1000).ToList();
    }

    /// <summary>
    /// Starts the stream of each dead letter not yet announced; a dead letter another node announced first is left
    /// alone. Returns the dead letters it closed at once because an operator had skipped the same event before.
    /// </summary>
    private async Task<IReadOnlySet<Guid>> AnnounceAsync(IEnumerable<DeadLetterEvent> deadLetters, CancellationToken ct)
    {
        var closed = new HashSet<Guid>();
        var list = deadLetters.ToList();
        if (list.Count == 0) return closed;
        var known = new HashSet<Guid>();
        foreach (var dead in list)
        {
            await using var query = databases.Placed
                ? store.QuerySession(SessionOptions.ForDatabase(await DatabaseOfAsync(dead)))
                : store.QuerySession(StorageConstants.DefaultTenantId);
            if (await query.Events.FetchStreamStateAsync(StreamOf(dead.Id), ct) is not null) known.Add(dead.Id);
        }
        foreach (var dead in list.Where(d => !known.Contains(d.Id)))
        {
            // An operator who skipped this event for this projection before (a rebuild replays it and fails again)
            // already decided: the new dead letter is announced and closed as skipped at once, not raised again.
            var skippedBefore = await SkippedBeforeAsync(dead, ct);
            var now = clock.GetUtcNow();
            await using var session = databases.Placed
                ? store.LightweightSession(SessionOptions.ForDatabase(await DatabaseOfAsync(dead)))
                : store.LightweightSession(StorageConstants.DefaultTenantId);
            session.CorrelationId = dead.Id.ToString();
            session.LastModifiedBy = Actor;
            var announced = new ProjectionEventSkipped(dead.Id, dead.ProjectionName, dead.EventSequence, dead.TenantId, Error(dead), now);
            if (skippedBefore)
            {
                session.Events.StartStream(StreamOf(dead.Id), announced, new DeadLetterSkipped(dead.Id, dead.ProjectionName, dead.EventSequence, now));
                session.Delete(dead);
            }
            else
            {
                session.Events.StartStream(StreamOf(dead.Id), announced);
            }
            try
            {
                await session.SaveChangesAsync(ct);
                if (skippedBefore)
                {
                    closed.Add(dead.Id);
                    log.LogInformation("Projection {Projection} skipped event {Sequence} of tenant {Tenant} again, as an operator decided before (dead letter {Id} closed)",
                        dead.ProjectionName, dead.EventSequence, dead.TenantId, dead.Id);
                }
                else
                    log.LogWarning("Projection {Projection} skipped event {Sequence} of tenant {Tenant}: {Error} (dead letter {Id})",
                        dead.ProjectionName, dead.EventSequence, dead.TenantId, Error(dead), dead.Id);
            }
            catch (Exception e) when (ConflictPolicy.IsTaken(e))
            {
                // Announced meanwhile by another node.
            }
        }
        return closed;
    }

    /// <summary>
    /// Whether an operator skipped this event for this projection before. Plain SQL: Marten's
    /// QueryRawEventDataOnly filters on the type's default alias, not the stored name the event is mapped to.
    /// </summary>
    private async Task<bool> SkippedBeforeAsync(DeadLetterEvent dead, CancellationToken ct)
    {
        var options = ((DocumentStore)store).Options;
        var type = ((Marten.Events.EventGraph)options.Events).EventMappingFor(typeof(DeadLetterSkipped)).EventTypeName;
        await using var cmd = databases.For(dead.TenantId ?? "").CreateCommand($"""
            select exists (select 1 from {options.Events.DatabaseSchemaName}.mt_events
                           where type = $1 and data ->> 'projection' = $2 and (data ->> 'sequence')::bigint = $3)
            """);
        cmd.Parameters.Add(new() { Value = type });
        cmd.Parameters.Add(new() { Value = dead.ProjectionName });
        cmd.Parameters.Add(new() { Value = dead.EventSequence });
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static DeadLetterView View(DeadLetterEvent d) =>
        new(d.Id, d.ProjectionName, d.EventSequence, d.TenantId, Error(d), d.ExceptionType ?? "", d.Timestamp);

    private static string Error(DeadLetterEvent d) =>
        string.IsNullOrEmpty(d.ExceptionType) ? d.ExceptionMessage : $"{d.ExceptionMessage} ({d.ExceptionType})";

    private static string Describe(Exception e) => e is ApplyEventException { InnerException: { } inner } ? inner.Message : e.Message;
}

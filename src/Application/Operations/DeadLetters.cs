using System.Security.Cryptography;
using System.Text;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Operations;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Operations;

public sealed record DeadLetterView(
    Guid Id, string Projection, long Sequence, string? Tenant, string Error, string ErrorType, DateTimeOffset At);

public sealed record DeadLetterResolved(Guid Id, string Projection, long Sequence, string Outcome, long AuditSequence);

/// <summary>
/// Events an async projection could not apply. The daemon skips such an event (Marten's SkipApplyErrors) and
/// records it in its dead-letter table, so one bad event cannot stop a read model for every tenant; this makes
/// the skip loud: each new dead letter gets a <see cref="ProjectionEventSkipped"/> event (in the system's own
/// stream of that dead letter) and a warning in the log, their count is a vital (homeostasis raises a deviation
/// while any is pending), and the operator lists them and retries or skips each one.
/// </summary>
public sealed class DeadLetters(IDocumentStore store, TimeProvider clock, ILogger<DeadLetters> log) : BackgroundService
{
    /// <summary>How often new dead letters are looked for: an operator sees a skipped event within this.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private const string Actor = "projection-daemon";

    /// <summary>The dead letter's own stream: one per dead letter, in the system's (default) tenant.</summary>
    public static Guid StreamOf(Guid deadLetterId) =>
        new(MD5.HashData(Encoding.UTF8.GetBytes($"projection/dead-letter/{deadLetterId}")));

    public async Task<long> CountAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.Query<DeadLetterEvent>().LongCountAsync(ct);
    }

    /// <summary>The pending dead letters, oldest event first (each announced by its event before it is listed).</summary>
    public async Task<IReadOnlyList<DeadLetterView>> ListAsync(CancellationToken ct)
    {
        var pending = await PendingAsync(ct);
        await AnnounceAsync(pending, ct);
        return pending.Select(View).ToList();
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
        await AnnounceAsync([dead], ct);
        var now = clock.GetUtcNow();
        await using var session = store.OpenFor(command);
        var system = session.ForTenant(StorageConstants.DefaultTenantId);
        system.Delete(dead);
        system.Events.Append(StreamOf(dead.Id), fact(now));
        var sequence = await session.CommitAsync(command, dead.Id.ToString(), 200, now, ct);
        log.LogWarning("Dead letter {Id} of {Projection} (event {Sequence}) {Outcome} by {Actor}",
            dead.Id, dead.ProjectionName, dead.EventSequence, outcome, command.Actor);
        return new DeadLetterResolved(dead.Id, dead.ProjectionName, dead.EventSequence, outcome, sequence);
    }

    private async Task<DeadLetterEvent> FindAsync(Guid id, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.LoadAsync<DeadLetterEvent>(id, ct) ?? throw new NotFound("dead letter");
    }

    private async Task<IReadOnlyList<DeadLetterEvent>> PendingAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.Query<DeadLetterEvent>().OrderBy(d => d.EventSequence).ThenBy(d => d.Timestamp).Take(1000).ToListAsync(ct);
    }

    /// <summary>Starts the stream of each dead letter not yet announced; a dead letter another node announced first is left alone.</summary>
    private async Task AnnounceAsync(IEnumerable<DeadLetterEvent> deadLetters, CancellationToken ct)
    {
        var list = deadLetters.ToList();
        if (list.Count == 0) return;
        await using var query = store.QuerySession(StorageConstants.DefaultTenantId);
        var known = new HashSet<Guid>();
        foreach (var dead in list)
            if (await query.Events.FetchStreamStateAsync(StreamOf(dead.Id), ct) is not null) known.Add(dead.Id);
        foreach (var dead in list.Where(d => !known.Contains(d.Id)))
        {
            await using var session = store.LightweightSession(StorageConstants.DefaultTenantId);
            session.CorrelationId = dead.Id.ToString();
            session.LastModifiedBy = Actor;
            session.Events.StartStream(StreamOf(dead.Id), new ProjectionEventSkipped(
                dead.Id, dead.ProjectionName, dead.EventSequence, dead.TenantId, Error(dead), clock.GetUtcNow()));
            try
            {
                await session.SaveChangesAsync(ct);
                log.LogWarning("Projection {Projection} skipped event {Sequence} of tenant {Tenant}: {Error} (dead letter {Id})",
                    dead.ProjectionName, dead.EventSequence, dead.TenantId, Error(dead), dead.Id);
            }
            catch (ExistingStreamIdCollisionException)
            {
                // Announced meanwhile by another node.
            }
        }
    }

    private static DeadLetterView View(DeadLetterEvent d) =>
        new(d.Id, d.ProjectionName, d.EventSequence, d.TenantId, Error(d), d.ExceptionType ?? "", d.Timestamp);

    private static string Error(DeadLetterEvent d) =>
        string.IsNullOrEmpty(d.ExceptionType) ? d.ExceptionMessage : $"{d.ExceptionMessage} ({d.ExceptionType})";

    private static string Describe(Exception e) => e is ApplyEventException { InnerException: { } inner } ? inner.Message : e.Message;
}

using System.Diagnostics.CodeAnalysis;
using Aetherra.Infrastructure.AuditLog;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Descriptors;
using JasperFx.Events.Projections;
using JasperFx.Events.Subscriptions;
using Marten;
using Marten.Events.Projections;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Audit.Log;

/// <summary>
/// The Merkle log as the daemon runs it, without the daemon reading a single event for it. The log hashes the rows
/// of mt_events as PostgreSQL stores them (<see cref="AuditLogStore.AppendUpToAsync"/> reads them itself), so all it
/// needs of a page is its ceiling: the daemon's high-water mark never passes an event that could still commit below
/// it, and the page's ceiling never passes the high-water mark. Registered as an async projection named
/// <see cref="AuditLogProjection.Name"/> (the same shard, progress row, rebuild and status as before), with an
/// event-type filter that matches no stored event (<see cref="NoStoredEvent"/>), so the daemon's page query returns
/// no rows, deserialises nothing, and hands over a range whose ceiling is the high-water mark; the execution appends
/// the leaves up to it in the daemon's transaction, with the projection's progress. Before, the daemon loaded and
/// deserialised every event of the store into its .NET type for this projection, which used only the highest
/// sequence (docs/benchmarks.md). <c>AETHERRA_AUDIT_LOG_EVENTS=load</c> registers that older
/// <see cref="AuditLogProjection"/> instead, for comparison.
/// </summary>
public sealed class AuditLogSource : ProjectionBase, IProjectionSource<IDocumentOperations, IQuerySession>,
    ISubscriptionFactory<IDocumentOperations, IQuerySession>
{
    public AuditLogSource()
    {
        Name = AuditLogProjection.Name;
        IncludeType<NoStoredEvent>();
    }

    public SubscriptionType Type => SubscriptionType.EventProjection;
    public Type ImplementationType => typeof(AuditLogSource);

    private ShardName Shard => ShardName.Compose(Name, "All", null, Version);
    public ShardName[] ShardNames() => [Shard];
    public SubscriptionDescriptor Describe(IEventStore store) => new(this, store);

    public IReadOnlyList<AsyncShard<IDocumentOperations, IQuerySession>> Shards() =>
        [new AsyncShard<IDocumentOperations, IQuerySession>(Options, ShardRole.Projection, Shard, this, this)];

    public bool TryBuildReplayExecutor(IEventStore<IDocumentOperations, IQuerySession> store, IEventDatabase database,
        [NotNullWhen(true)] out IReplayExecutor? executor)
    {
        executor = null;
        return false;
    }

    public IInlineProjection<IDocumentOperations> BuildForInline() =>
        throw new NotSupportedException("the audit log is built by the async daemon only");

    public ISubscriptionExecution BuildExecution(IEventStore<IDocumentOperations, IQuerySession> store, IEventDatabase database,
        ILoggerFactory loggerFactory, ShardName shardName) =>
        new CeilingExecution(shardName, Options, store, database, loggerFactory.CreateLogger<AuditLogSource>());

    public ISubscriptionExecution BuildExecution(IEventStore<IDocumentOperations, IQuerySession> store, IEventDatabase database,
        ILogger logger, ShardName shardName) =>
        new CeilingExecution(shardName, Options, store, database, logger);

    /// <summary>
    /// The daemon's execution of a projection, with one step added to each batch it builds: the leaves up to the
    /// range's ceiling, appended before the batch commits. The events of the range (none but Marten's own
    /// <c>Archived</c> markers, which every type filter lets through) go to a projection that ignores them.
    /// </summary>
    private sealed class CeilingExecution(
        ShardName shardName, AsyncOptions options, IEventStore<IDocumentOperations, IQuerySession> store, IEventDatabase database, ILogger logger)
        : ProjectionExecution<IDocumentOperations, IQuerySession>(shardName, options, store, database, new IgnoreEvents(), logger)
    {
        protected override async Task<IProjectionBatch> buildBatchWithNoSkippingAsync(EventRange range, CancellationToken cancellationToken)
        {
            var batch = (IProjectionBatch<IDocumentOperations, IQuerySession>)await base.buildBatchWithNoSkippingAsync(range, cancellationToken);
            try
            {
                await using var session = batch.SessionForTenant(JasperFx.StorageConstants.DefaultTenantId);
                if (session is not ITransactionParticipantRegistrar registrar)
                    throw new InvalidOperationException("the audit log needs the daemon's transaction");
                registrar.AddTransactionParticipant(new AuditLogProjection.AppendLeaves(range.SequenceCeiling, session.DocumentStore.Options.DatabaseSchemaName));
                return batch;
            }
            catch
            {
                await batch.DisposeAsync();
                throw;
            }
        }
    }

    private sealed class IgnoreEvents : IProjection
    {
        public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken ct) => Task.CompletedTask;
    }
}

/// <summary>
/// An event type nothing appends: the audit log's event filter (<see cref="AuditLogSource"/>), so that the daemon reads
/// no event for it. Mapped to a stored name of its own so that it can never match a real event's.
/// </summary>
public sealed record NoStoredEvent
{
    public const string StoredName = "audit.log-reads-no-event.v1";
}

using Aetherra.Infrastructure.AuditLog;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Npgsql;

namespace Aetherra.Application.Audit.Log;

/// <summary>
/// Grows the Merkle log over every event of the store, all tenants, in global sequence order. Async, so the
/// daemon never hands it an event past the high-water mark: an event that commits late below a sequence
/// already seen cannot be skipped. The daemon passes events grouped per tenant, so the events themselves are
/// only a ceiling: the leaves are appended in one step inside the daemon's own transaction (with the
/// projection's progress), reading the rows exactly as PostgreSQL stores them. The daemon still loads and
/// deserialises every event for it: <see cref="AuditLogSource"/> runs the same log without that, and this one is
/// registered only with <c>AETHERRA_AUDIT_LOG_EVENTS=load</c>, for comparison.
/// </summary>
public sealed class AuditLogProjection : IProjection
{
    public const string Name = "AuditLog";

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        if (events.Count == 0) return Task.CompletedTask;
        if (operations is not ITransactionParticipantRegistrar registrar)
            throw new InvalidOperationException("the audit log is built by the async daemon only");
        registrar.AddTransactionParticipant(new AppendLeaves(events.Max(e => e.Sequence), operations.DocumentStore.Options.DatabaseSchemaName));
        return Task.CompletedTask;
    }

    /// <param name="schema">The store's schema: the live one, or an analysis rebuild's (docs/operations.md).</param>
    internal sealed class AppendLeaves(long ceiling, string schema) : ITransactionParticipant
    {
        public Task BeforeCommitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken ct) =>
            AuditLogStore.AppendUpToAsync(connection, ceiling, ct, schema);
    }
}

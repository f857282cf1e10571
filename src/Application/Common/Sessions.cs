using Marten;
using Npgsql;

namespace Aetherra.Application.Common;

public static class Sessions
{
    /// <summary>A session for the command's tenant, stamping its events with the actor and request.</summary>
    public static IDocumentSession OpenFor(this IDocumentStore store, CommandContext command)
    {
        var session = store.LightweightSession(command.Tenant);
        session.LastModifiedBy = command.Actor;
        session.CorrelationId = command.Correlation ?? command.RequestId.ToString();
        return session;
    }

    /// <summary>Starts the session's transaction now and hands back its connection, for work that must share it.</summary>
    public static async Task<NpgsqlConnection> BeginAsync(this IDocumentSession session, CancellationToken ct)
    {
        await session.BeginTransactionAsync(ct);
        return session.Connection ?? throw new InvalidOperationException("the session has no open connection");
    }

    /// <summary>
    /// Appends the command's accepted audit record, commits everything in one transaction and answers the
    /// global sequence of the last event written (the client's token for read-your-writes).
    /// </summary>
    public static async Task<long> CommitAsync(
        this IDocumentSession session, CommandContext command, string? target, Outcome outcome, DateTimeOffset now, CancellationToken ct,
        string? reason = null)
    {
        AuditTrail.Accepted(session, command, target, Outcomes.StatusOf(outcome), now, reason);
        var streams = session.PendingChanges.Streams().ToList();
        await session.SaveChangesAsync(ct);
        command.Audited = true;
        return streams.SelectMany(s => s.Events).Max(e => e.Sequence);
    }

    public static bool IsUniqueViolation(Exception e, string indexFragment) =>
        Aetherra.Infrastructure.Database.StoreFailures.Postgres(e) is { SqlState: "23505" } pg
        && (pg.ConstraintName?.Contains(indexFragment, StringComparison.OrdinalIgnoreCase) ?? false);
}

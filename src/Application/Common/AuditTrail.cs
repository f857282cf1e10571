using Aetherra.Domain.Audit;
using Marten;

namespace Aetherra.Application.Common;

public static class AuditTrail
{
    /// <summary>The accepted record goes into the command's own transaction: no events without their audit.</summary>
    /// <remarks>
    /// A command that ran but whose outcome is a failure it must record (a plugin call that failed: 502, 504) passes
    /// its status and reason; a status of 400 or more is recorded as rejected, as the middleware records it.
    /// </remarks>
    public static void Accepted(
        IDocumentSession session, CommandContext command, string? target, int status, DateTimeOffset now, string? reason = null) =>
        session.Events.StartStream(command.RequestId, Record(command, target, status, now, reason));

    /// <summary>The command's record, for a writer that appends it without a session (the task claim).</summary>
    public static AuditRecorded Record(CommandContext command, string? target, int status, DateTimeOffset now, string? reason = null) =>
        new(command.RequestId, command.Actor, command.Tenant, command.Action, target,
            status < 400 ? AuditOutcome.Accepted : AuditOutcome.Rejected, status, reason, now.ToMicroseconds(), command.Channel);

    /// <summary>A command that ended without its accepted record (rejected, or failed) is recorded on its own.</summary>
    public static async Task RecordEndingAsync(
        IDocumentStore store, CommandContext command, string? target, int status, string? reason, DateTimeOffset now, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var outcome = status < 400 ? AuditOutcome.Accepted : AuditOutcome.Rejected;
        session.Events.StartStream(command.RequestId,
            new AuditRecorded(command.RequestId, command.Actor, command.Tenant, command.Action, target, outcome, status, reason, now.ToMicroseconds(), command.Channel));
        await session.SaveChangesAsync(ct);
        command.Audited = true;
    }

    /// <summary>
    /// PostgreSQL keeps microseconds and rounds finer input: a record's time at .NET's 100 ns would be
    /// compared as a rounded-up value, and GET /audit?to= at exactly a record's own time would miss it.
    /// </summary>
}

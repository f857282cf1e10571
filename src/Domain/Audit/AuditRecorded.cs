namespace Aetherra.Domain.Audit;

public enum AuditOutcome { Accepted, Rejected }

/// <summary>
/// One command, accepted or rejected. Each record starts its own stream (keyed by the request id), so
/// auditing never contends on a hot stream. <see cref="Channel"/> names the way the command came in
/// (<c>http</c>, <c>mcp</c>); records from before channels existed have none and came over HTTP.
/// </summary>
public sealed record AuditRecorded(
    Guid RequestId,
    string Actor,
    string Tenant,
    string Action,
    string? Target,
    AuditOutcome Outcome,
    int Status,
    string? Reason,
    DateTimeOffset At,
    string? Channel = null);

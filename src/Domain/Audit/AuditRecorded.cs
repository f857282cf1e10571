namespace Aetherra.Domain.Audit;

public enum AuditOutcome { Accepted, Rejected }

/// <summary>
/// One command, accepted or rejected. Each record starts its own stream (keyed by the request id), so
/// auditing never contends on a hot stream.
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
    DateTimeOffset At);

using Aetherra.Application.Common;
using Aetherra.Domain.Audit;
using JasperFx.Events;
using Marten.Events.Projections;

namespace Aetherra.Application.Audit;

/// <summary>One audit record as a queryable row, with the global sequence of its event.</summary>
public sealed class AuditEntry
{
    public Guid Id { get; set; }
    public long Sequence { get; set; }
    public DateTimeOffset At { get; set; }
    public string Actor { get; set; } = "";
    public string Tenant { get; set; } = "";
    public string Action { get; set; } = "";
    public string? Target { get; set; }
    public AuditOutcome Outcome { get; set; }
    public int Status { get; set; }
    public string? Reason { get; set; }
    public Guid RequestId { get; set; }
    public string Channel { get; set; } = CommandContext.Http;
}

/// <summary>Inline: an audit record is queryable as soon as its command's transaction commits.</summary>
public sealed partial class AuditIndexProjection : EventProjection
{
    public AuditIndexProjection() => Name = "AuditIndex";

    public AuditEntry Create(IEvent<AuditRecorded> e) => new()
    {
        Id = e.Data.RequestId,
        Sequence = e.Sequence,
        At = e.Data.At,
        Actor = e.Data.Actor,
        Tenant = e.Data.Tenant,
        Action = e.Data.Action,
        Target = e.Data.Target,
        Outcome = e.Data.Outcome,
        Status = e.Data.Status,
        Reason = e.Data.Reason,
        RequestId = e.Data.RequestId,
        Channel = e.Data.Channel ?? CommandContext.Http
    };
}

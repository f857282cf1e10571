using JasperFx.Events;
using JasperFx.Events.Daemon;

namespace Aetherra.Application.Common;

/// <summary>
/// A projection's refusal of one event it cannot apply, with the reason. The daemon dead-letters that event
/// (SkipApplyErrors) and keeps the projection running for everyone else; the reason becomes the dead letter's
/// message (Application/Operations/DeadLetters.cs makes it visible).
/// </summary>
public sealed class ProjectionRefusedEvent(IEvent e, string reason)
    : ApplyEventException(e, new InvalidOperationException(reason))
{
    public override string Message { get; } = $"event {e.Sequence} ({e.EventTypeName}) refused: {reason}";
}

namespace Aetherra.Domain.Operations;

/// <summary>
/// An async projection could not apply an event and went on without it (the event is dead-lettered, so the
/// projection keeps serving every other tenant): which projection, which event, and why.
/// </summary>
public sealed record ProjectionEventSkipped(
    Guid DeadLetterId, string Projection, long Sequence, string? Tenant, string Error, DateTimeOffset At);

/// <summary>An operator applied a dead-lettered event again, and this time the projection took it.</summary>
public sealed record DeadLetterRetried(Guid DeadLetterId, string Projection, long Sequence, DateTimeOffset At);

/// <summary>An operator accepted that the projection goes without a dead-lettered event.</summary>
public sealed record DeadLetterSkipped(Guid DeadLetterId, string Projection, long Sequence, DateTimeOffset At);

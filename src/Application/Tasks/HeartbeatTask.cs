using Aetherra.Application.Common;
using Aetherra.Domain.Tasks;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Tasks;

/// <summary>The claimer renews its lease. Agent and attempt, when given, must be the current claim's (a fence).</summary>
public sealed record HeartbeatTask(string? Agent, int? Attempt, int? LeaseSeconds);

public sealed class HeartbeatTaskValidator : AbstractValidator<HeartbeatTask>
{
    public HeartbeatTaskValidator()
    {
        RuleFor(x => x.Agent).MaximumLength(TaskLimits.MaxNameLength);
        RuleFor(x => x.Attempt).GreaterThanOrEqualTo(1);
        RuleFor(x => x.LeaseSeconds).InclusiveBetween(1, TaskLimits.MaxLeaseSeconds);
    }
}

public static class HeartbeatTaskHandler
{
    public static Task<TaskMoveResult> Handle(Guid id, HeartbeatTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        TaskMoves.MoveAsync(id, command, store, clock, (task, now) => TaskRules.Heartbeat(task, body.Agent, body.Attempt,
            TimeSpan.FromSeconds(body.LeaseSeconds ?? TaskLimits.DefaultLeaseSeconds), now), ct);
}

using Aetherra.Application.Common;
using Aetherra.Domain.Tasks;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Tasks;

public sealed record CancelTask(string? Reason);

public sealed class CancelTaskValidator : AbstractValidator<CancelTask>
{
    public CancelTaskValidator() => RuleFor(x => x.Reason).MaximumLength(TaskLimits.MaxErrorLength);
}

public static class CancelTaskHandler
{
    /// <summary>Stops a task that has not finished, claimed or not: a claimer's later heartbeat or completion is refused.</summary>
    public static Task<TaskMoveResult> Handle(Guid id, CancelTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        TaskMoves.MoveAsync(id, command, store, clock, (task, now) => TaskRules.Cancel(task, body.Reason, now), ct);
}

using Aetherra.Application.Common;
using Aetherra.Domain.Tasks;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Tasks;

/// <summary>An attempt failed; with retry (the default) the task is queued again after a backoff while attempts remain.</summary>
public sealed record FailTask(string? Error, bool? Retry, int? RetryAfterSeconds, string? Agent, int? Attempt);

public sealed class FailTaskValidator : AbstractValidator<FailTask>
{
    public FailTaskValidator()
    {
        RuleFor(x => x.Error).NotEmpty().MaximumLength(TaskLimits.MaxErrorLength);
        RuleFor(x => x.RetryAfterSeconds).InclusiveBetween(0, TaskLimits.MaxRetryAfterSeconds);
        RuleFor(x => x.Agent).MaximumLength(TaskLimits.MaxNameLength);
        RuleFor(x => x.Attempt).GreaterThanOrEqualTo(1);
    }
}

public static class FailTaskHandler
{
    public static Task<TaskMoveResult> Handle(Guid id, FailTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        TaskMoves.MoveAsync(id, command, store, clock, (task, now) => TaskRules.Fail(task, body.Agent, body.Attempt, body.Error!,
            body.Retry ?? true, body.RetryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : null, now), ct);
}

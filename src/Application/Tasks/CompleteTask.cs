using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Domain.Tasks;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Tasks;

public sealed record CompleteTask(JsonElement? Output, string? Agent, int? Attempt);

public sealed class CompleteTaskValidator : AbstractValidator<CompleteTask>
{
    public CompleteTaskValidator()
    {
        RuleFor(x => x.Output).StorableJson(TaskLimits.MaxJsonLength);
        RuleFor(x => x.Agent).MaximumLength(TaskLimits.MaxNameLength);
        RuleFor(x => x.Attempt).GreaterThanOrEqualTo(1);
    }
}

public static class CompleteTaskHandler
{
    public static Task<TaskMoveResult> Handle(Guid id, CompleteTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        TaskMoves.MoveAsync(id, command, store, clock, (task, now) => TaskRules.Complete(task, body.Agent, body.Attempt, body.Output, now), ct);
}

using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Tasks;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Tasks;

public sealed record CreateTask(
    string? Title, string? Agent, int? Priority, JsonElement? Input, IReadOnlyList<Guid>? DependsOn, int? MaxAttempts,
    DateTimeOffset? Deadline);

public sealed record CreateTaskResult(Guid Id, string Status, long Sequence);

public sealed class CreateTaskValidator : AbstractValidator<CreateTask>
{
    public CreateTaskValidator()
    {
        RuleFor(x => x.Title).NotEmpty().MaximumLength(TaskLimits.MaxTitleLength);
        RuleFor(x => x.Agent).MaximumLength(TaskLimits.MaxNameLength);
        RuleFor(x => x.Priority).InclusiveBetween(TaskRules.MinPriority, TaskRules.MaxPriority);
        RuleFor(x => x.MaxAttempts).InclusiveBetween(1, TaskLimits.MaxAttempts);
        RuleFor(x => x.Input).StorableJson(TaskLimits.MaxJsonLength);
        RuleFor(x => x.DependsOn!.Count).LessThanOrEqualTo(TaskLimits.MaxDependencies).When(x => x.DependsOn is not null)
            .OverridePropertyName("dependsOn");
        RuleForEach(x => x.DependsOn).NotEmpty();
    }
}

public static class CreateTaskHandler
{
    /// <summary>
    /// Starts the task's stream. Its dependencies must be tasks of this tenant; it is "waiting" while any of them is
    /// not complete (the claim checks them again, so a dependency completing later releases it).
    /// </summary>
    public static async Task<CreateTaskResult> Handle(CreateTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        await using var session = store.OpenFor(command);
        var dependsOn = (body.DependsOn ?? []).Distinct().ToList();
        var found = dependsOn.Count == 0 ? [] : await session.LoadManyAsync<AgentTask>(ct, dependsOn);
        if (dependsOn.FirstOrDefault(d => found.All(t => t.Id != d)) is var missing && missing != Guid.Empty)
            throw new DomainRuleViolated($"dependency {missing} is not a task of this tenant");
        var now = clock.GetUtcNow();
        var created = TaskRules.Create(id, body.Title!, body.Agent, body.Priority ?? TaskLimits.DefaultPriority, body.Input,
            dependsOn, body.MaxAttempts ?? TaskLimits.DefaultAttempts, body.Deadline,
            found.All(t => t.Status == AgentTaskStatus.Completed), now);
        session.Events.StartStream<AgentTask>(id, created);
        var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Created, now, ct);
        return new CreateTaskResult(id, created.Waiting ? "waiting" : "queued", sequence);
    }
}

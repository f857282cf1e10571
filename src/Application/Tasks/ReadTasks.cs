using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Domain.Tasks;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Tasks;

public sealed record TaskView(
    Guid Id, string Title, string? Agent, int Priority, JsonElement? Input, IReadOnlyList<Guid> DependsOn, int MaxAttempts,
    DateTimeOffset? Deadline, string Status, int Attempt, string? ClaimedBy, DateTimeOffset? LeaseUntil, DateTimeOffset NotBefore,
    JsonElement? Output, string? Error, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Version, long Sequence,
    IReadOnlyList<TaskStep>? History);

/// <summary>GET /tasks filters: status, agent (the task's named agent or its current claimer), a page.</summary>
public sealed record TaskQuery(string? Status, string? Agent, int? Limit);

public sealed class TaskQueryValidator : AbstractValidator<TaskQuery>
{
    public TaskQueryValidator()
    {
        RuleFor(x => x.Status).Must(s => s is null || Enum.TryParse<AgentTaskStatus>(s, true, out _) && !int.TryParse(s, out _))
            .WithMessage("'Status' must be one of queued, waiting, claimed, completed, failed, cancelled.");
        RuleFor(x => x.Agent).MaximumLength(TaskLimits.MaxNameLength);
        RuleFor(x => x.Limit).InclusiveBetween(1, TaskLimits.MaxPage);
    }
}

public static class ReadTasks
{
    public static async Task<TaskView> Get(Guid id, IQuerySession session, CancellationToken ct) =>
        View(await session.LoadAsync<AgentTask>(id, ct) ?? throw new NotFound("task"), withHistory: true);

    /// <summary>Matching tasks, highest priority then oldest first (the order the queue hands them out).</summary>
    public static async Task<IReadOnlyList<TaskView>> List(TaskQuery query, IQuerySession session, CancellationToken ct)
    {
        var q = session.Query<AgentTask>().AsQueryable();
        if (query.Status is { } s)
        {
            var status = Enum.Parse<AgentTaskStatus>(s, true);
            q = q.Where(t => t.Status == status);
        }
        if (query.Agent is { } agent) q = q.Where(t => t.Agent == agent || t.ClaimedBy == agent);
        var rows = await q.OrderByDescending(t => t.Priority).ThenBy(t => t.Sequence).Take(query.Limit ?? TaskLimits.DefaultPage).ToListAsync(ct);
        return rows.Select(t => View(t, withHistory: false)).ToList();
    }

    public static TaskView View(AgentTask t, bool withHistory) => new(
        t.Id, t.Title, t.Agent, t.Priority, t.Input, t.DependsOn, t.MaxAttempts, t.Deadline, TaskRules.Lower(t.Status), t.Attempt,
        t.ClaimedBy, t.LeaseUntil, t.NotBefore, t.Output, t.Error, t.CreatedAt, t.UpdatedAt, t.Version, t.Sequence,
        withHistory ? t.History : null);
}

using System.Text.Json;
using Aetherra.Application.Agents;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Tasks;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Tasks;

public sealed record ClaimTask(string? Agent, int? LeaseSeconds);

public sealed record ClaimedTask(Guid Id, string Title, int Priority, JsonElement? Input, int Attempt, DateTimeOffset LeaseUntil, long Sequence);

public sealed class ClaimTaskValidator : AbstractValidator<ClaimTask>
{
    public ClaimTaskValidator()
    {
        RuleFor(x => x.Agent).NotEmpty().MaximumLength(TaskLimits.MaxNameLength);
        RuleFor(x => x.LeaseSeconds).InclusiveBetween(1, TaskLimits.MaxLeaseSeconds);
    }
}

public static class ClaimTaskHandler
{
    /// <summary>Tasks settled on the way (last lease run out, deadline passed) before one is claimed or none is left.</summary>
    private const int MaxSettled = 50;

    /// <summary>
    /// Takes the next ready task for the agent under a lease, or null when none is ready. One transaction: the row
    /// lock (SKIP LOCKED), the claim and its audit record commit together, so a claimer that dies before the commit
    /// claimed nothing, and one that dies after holds the task only until its lease runs out. The queue's one query
    /// reads the agent's standing and the locked task's state: the claim's events are appended at the version that
    /// row holds (checked again at commit), with no read of the task's stream of its own.
    /// </summary>
    public static async Task<ClaimedTask?> Handle(ClaimTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct)
    {
        var agent = body.Agent!;
        var lease = TimeSpan.FromSeconds(body.LeaseSeconds ?? TaskLimits.DefaultLeaseSeconds);
        var serializer = store.Options.Serializer();
        return await ConflictPolicy.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var connection = await session.BeginAsync(ct);
            var now = clock.GetUtcNow();
            var passed = new List<Guid>();
            TaskClaimed? claim = null;
            AgentTask? task = null;
            while (claim is null && passed.Count < MaxSettled)
            {
                var (suspended, candidates) = await TaskQueue.NextAsync(connection, serializer, command.Tenant, agent, now, passed, ct);
                if (suspended) throw new DomainRuleViolated(AgentStatuses.Refusal(agent, "claim tasks"));
                if (candidates.Count == 0) break;
                foreach (var next in candidates)
                {
                    task = next;
                    (var events, claim) = TaskRules.Claim(task, agent, lease, now);
                    session.Events.Append(task.Id, task.Version + events.Count, [.. events]);
                    passed.Add(task.Id);
                    if (claim is not null) break;
                }
            }
            var sequence = await session.CommitAsync(command, claim?.TaskId.ToString(), claim is null ? Outcome.Nothing : Outcome.Done, now, ct,
                claim is null ? "no task ready" : null);
            return claim is null ? null : new ClaimedTask(task!.Id, task.Title, task.Priority, task.Input, claim.Attempt, claim.LeaseUntil, sequence);
        });
    }
}

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
    /// claimed nothing, and one that dies after holds the task only until its lease runs out. The agent's standing is
    /// read by the queue's own query: no round trip of its own.
    /// </summary>
    public static async Task<ClaimedTask?> Handle(ClaimTask body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct)
    {
        var agent = body.Agent!;
        var lease = TimeSpan.FromSeconds(body.LeaseSeconds ?? TaskLimits.DefaultLeaseSeconds);
        return await Decisions.OnConflict.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var connection = await session.BeginAsync(ct);
            var now = clock.GetUtcNow();
            var passed = new List<Guid>();
            TaskClaimed? claim = null;
            AgentTask? task = null;
            while (claim is null && passed.Count < MaxSettled)
            {
                var (suspended, next) = await TaskQueue.NextAsync(connection, command.Tenant, agent, now, passed, ct);
                if (suspended) throw new DomainRuleViolated(AgentStatuses.Refusal(agent, "claim tasks"));
                if (next is not { } id) break;
                var stream = await session.Events.FetchForWriting<AgentTask>(id, ct);
                task = stream.Aggregate!;
                (var events, claim) = TaskRules.Claim(task, agent, lease, now);
                stream.AppendMany(events);
                passed.Add(id);
            }
            var sequence = await session.CommitAsync(command, claim?.TaskId.ToString(), claim is null ? 204 : 200, now, ct,
                claim is null ? "no task ready" : null);
            return claim is null ? null : new ClaimedTask(task!.Id, task.Title, task.Priority, task.Input, claim.Attempt, claim.LeaseUntil, sequence);
        });
    }
}

using System.Text.Json;

namespace Aetherra.Domain.Tasks;

/// <summary>The legal moves of a task; anything else is a domain rule violation (422). Pure: the clock comes in.</summary>
public static class TaskRules
{
    public const int MinPriority = 0;
    public const int MaxPriority = 9;
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    public static TaskCreated Create(
        Guid id, string title, string? agent, int priority, JsonElement? input, IReadOnlyList<Guid> dependsOn, int maxAttempts,
        DateTimeOffset? deadline, bool dependenciesComplete, DateTimeOffset now)
    {
        if (priority is < MinPriority or > MaxPriority) throw new DomainRuleViolated("priority is between 0 and 9");
        if (maxAttempts < 1) throw new DomainRuleViolated("maxAttempts is at least 1");
        if (deadline <= now) throw new DomainRuleViolated("the deadline has already passed");
        if (dependsOn.Contains(id)) throw new DomainRuleViolated("a task cannot depend on itself");
        return new TaskCreated(id, title, agent, priority, input, dependsOn, maxAttempts, deadline, !dependenciesComplete, now);
    }

    /// <summary>
    /// What happens to a task the queue handed to <paramref name="agent"/>: claimed under a lease (after the
    /// expiry of a lease that ran out), or, when it can no longer run (its last lease ran out, its deadline passed),
    /// the events that settle it, with no claim: the caller then looks for the next task.
    /// </summary>
    public static (IReadOnlyList<object> Events, TaskClaimed? Claim) Claim(AgentTask task, string agent, TimeSpan lease, DateTimeOffset now)
    {
        if (task.Status == AgentTaskStatus.Claimed)
        {
            if (task.LeaseUntil > now) throw new DomainRuleViolated("the task is claimed under a running lease");
            // The claimer vanished: its attempt counts, and the task goes straight to this claimer if any remain.
            var expired = Expire(task, now);
            if (expired.Count > 1) return (expired, null);
            var (then, reclaim) = Claim(task.Apply((TaskLeaseExpired)expired[0]), agent, lease, now);
            return ([.. expired, .. then], reclaim);
        }
        if (task.Status is not (AgentTaskStatus.Queued or AgentTaskStatus.Waiting))
            throw new DomainRuleViolated($"a {Lower(task.Status)} task cannot be claimed");
        if (task.Agent is not null && task.Agent != agent) throw new DomainRuleViolated($"the task is for agent {task.Agent}");
        if (task.Deadline <= now)
            return ([new TaskFailed(task.Id, null, task.Attempt, "its deadline passed before it was done", true, null, now)], null);
        var claim = new TaskClaimed(task.Id, agent, task.Attempt + 1, now + lease, now);
        return ([claim], claim);
    }

    /// <summary>A claim whose lease ran out: the attempt counts; past the limit the task fails for good.</summary>
    public static IReadOnlyList<object> Expire(AgentTask task, DateTimeOffset now)
    {
        if (task.Status != AgentTaskStatus.Claimed || task.LeaseUntil > now) return [];
        var expired = new TaskLeaseExpired(task.Id, task.ClaimedBy!, task.Attempt, task.LeaseUntil!.Value, now);
        return task.Attempt >= task.MaxAttempts
            ? [expired, new TaskFailed(task.Id, task.ClaimedBy, task.Attempt,
                $"the lease ran out on attempt {task.Attempt} of {task.MaxAttempts}", true, null, now)]
            : [expired];
    }

    public static TaskHeartbeat Heartbeat(AgentTask task, string? agent, int? attempt, TimeSpan lease, DateTimeOffset now)
    {
        EnsureHeld(task, agent, attempt, now, "renewed");
        return new TaskHeartbeat(task.Id, task.ClaimedBy!, task.Attempt, now + lease, now);
    }

    public static TaskCompleted Complete(AgentTask task, string? agent, int? attempt, JsonElement? output, DateTimeOffset now)
    {
        EnsureHeld(task, agent, attempt, now, "completed");
        return new TaskCompleted(task.Id, task.ClaimedBy!, task.Attempt, output, now);
    }

    /// <summary>
    /// A failed attempt: retried (queued again after a backoff of 2^(attempt-1) seconds, at most five minutes,
    /// unless the agent names its own) while attempts remain and the agent asks for it; otherwise final.
    /// </summary>
    public static TaskFailed Fail(
        AgentTask task, string? agent, int? attempt, string error, bool retry, TimeSpan? retryAfter, DateTimeOffset now)
    {
        EnsureHeld(task, agent, attempt, now, "failed");
        if (!retry || task.Attempt >= task.MaxAttempts)
            return new TaskFailed(task.Id, task.ClaimedBy, task.Attempt, error, true, null, now);
        var backoff = retryAfter ?? TimeSpan.FromSeconds(Math.Min(Math.Pow(2, task.Attempt - 1), MaxBackoff.TotalSeconds));
        return new TaskFailed(task.Id, task.ClaimedBy, task.Attempt, error, false, now + backoff, now);
    }

    public static TaskCancelled Cancel(AgentTask task, string? reason, DateTimeOffset now) =>
        task.IsFinished
            ? throw new DomainRuleViolated($"a {Lower(task.Status)} task cannot be cancelled")
            : new TaskCancelled(task.Id, reason, now);

    /// <summary>
    /// Only the current claim may move the task: a claimer whose lease ran out (the task may be another agent's by
    /// now) is refused, and so is one naming another agent or an earlier attempt.
    /// </summary>
    private static void EnsureHeld(AgentTask task, string? agent, int? attempt, DateTimeOffset now, string toBe)
    {
        if (task.Status != AgentTaskStatus.Claimed)
            throw new DomainRuleViolated($"only a claimed task can be {toBe}; this one is {Lower(task.Status)}");
        if (task.LeaseUntil <= now) throw new DomainRuleViolated("the lease has run out; claim the task again");
        if (agent is not null && agent != task.ClaimedBy) throw new DomainRuleViolated($"the task is claimed by {task.ClaimedBy}, not {agent}");
        if (attempt is not null && attempt != task.Attempt)
            throw new DomainRuleViolated($"attempt {attempt} is over; the task is on attempt {task.Attempt}");
    }

    public static string Lower(AgentTaskStatus status) => status.ToString().ToLowerInvariant();
}

using System.Text.Json;

namespace Aetherra.Domain.Tasks;

public enum AgentTaskStatus { Queued, Waiting, Claimed, Completed, Failed, Cancelled }

/// <summary>One entry of a task's history, as the read model shows it.</summary>
public readonly record struct TaskStep(string Type, DateTimeOffset At, string? Agent, int Attempt, string? Detail)
{
    /// <summary>The key that caused the step (the event's actor).</summary>
    public string? Actor { get; init; }

    public long Sequence { get; init; }
}

/// <summary>
/// The state of one task, folded from its stream. <see cref="NotBefore"/> is when it may next be claimed (its
/// creation, or a retry's backoff); <see cref="LeaseUntil"/> the current claim's lease.
/// </summary>
public sealed record AgentTask(
    Guid Id,
    string Title,
    string? Agent,
    int Priority,
    JsonElement? Input,
    IReadOnlyList<Guid> DependsOn,
    int MaxAttempts,
    DateTimeOffset? Deadline,
    AgentTaskStatus Status,
    int Attempt,
    string? ClaimedBy,
    DateTimeOffset? LeaseUntil,
    DateTimeOffset NotBefore,
    JsonElement? Output,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int Version)
{
    /// <summary>Global sequence of the creation: "oldest first" in the queue (set by the projection).</summary>
    public long Sequence { get; init; }

    /// <summary>What happened to the task, oldest first (set by the projection, with each event's actor).</summary>
    public IReadOnlyList<TaskStep> History { get; init; } = [];

    public static AgentTask Create(TaskCreated e) => new(
        e.TaskId, e.Title, e.Agent, e.Priority, e.Input, e.DependsOn, e.MaxAttempts, e.Deadline,
        e.Waiting ? AgentTaskStatus.Waiting : AgentTaskStatus.Queued, 0, null, null, e.CreatedAt, null, null, e.CreatedAt, e.CreatedAt, 1);

    public AgentTask Apply(TaskClaimed e) => this with
    {
        Status = AgentTaskStatus.Claimed, Attempt = e.Attempt, ClaimedBy = e.Agent, LeaseUntil = e.LeaseUntil,
        UpdatedAt = e.ClaimedAt, Version = Version + 1
    };

    public AgentTask Apply(TaskHeartbeat e) => this with { LeaseUntil = e.LeaseUntil, UpdatedAt = e.At, Version = Version + 1 };

    public AgentTask Apply(TaskCompleted e) => this with
    {
        Status = AgentTaskStatus.Completed, Output = e.Output, LeaseUntil = null, UpdatedAt = e.At, Version = Version + 1
    };

    public AgentTask Apply(TaskFailed e) => this with
    {
        Status = e.Final ? AgentTaskStatus.Failed : AgentTaskStatus.Queued, Error = e.Error, LeaseUntil = null,
        NotBefore = e.RetryAt ?? NotBefore, ClaimedBy = e.Final ? ClaimedBy : null, UpdatedAt = e.At, Version = Version + 1
    };

    public AgentTask Apply(TaskLeaseExpired e) => this with
    {
        Status = AgentTaskStatus.Queued, LeaseUntil = null, ClaimedBy = null, Error = $"the lease of {e.Agent} ran out",
        UpdatedAt = e.At, Version = Version + 1
    };

    public AgentTask Apply(TaskCancelled e) => this with
    {
        Status = AgentTaskStatus.Cancelled, LeaseUntil = null, UpdatedAt = e.At, Version = Version + 1
    };

    public bool IsFinished => Status is AgentTaskStatus.Completed or AgentTaskStatus.Failed or AgentTaskStatus.Cancelled;
}

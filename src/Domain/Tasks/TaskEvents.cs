using System.Text.Json;

namespace Aetherra.Domain.Tasks;

/// <summary>
/// A task entered the queue. <paramref name="Agent"/>, when set, is the only agent that may claim it;
/// <paramref name="Waiting"/> says some of <paramref name="DependsOn"/> were not complete when it was created.
/// </summary>
public sealed record TaskCreated(
    Guid TaskId,
    string Title,
    string? Agent,
    int Priority,
    JsonElement? Input,
    IReadOnlyList<Guid> DependsOn,
    int MaxAttempts,
    DateTimeOffset? Deadline,
    bool Waiting,
    DateTimeOffset CreatedAt);

/// <summary>An agent took the task under a lease; <paramref name="Attempt"/> counts claims (1 for the first).</summary>
public sealed record TaskClaimed(Guid TaskId, string Agent, int Attempt, DateTimeOffset LeaseUntil, DateTimeOffset ClaimedAt);

/// <summary>The claimer is alive: its lease runs until <paramref name="LeaseUntil"/>.</summary>
public sealed record TaskHeartbeat(Guid TaskId, string Agent, int Attempt, DateTimeOffset LeaseUntil, DateTimeOffset At);

public sealed record TaskCompleted(Guid TaskId, string Agent, int Attempt, JsonElement? Output, DateTimeOffset At);

/// <summary>
/// An attempt failed. Not <paramref name="Final"/>: the task is queued again, claimable from <paramref name="RetryAt"/>.
/// Final: it failed for good (no retry asked, the attempt limit reached, its deadline passed, or its last lease ran out).
/// </summary>
public sealed record TaskFailed(
    Guid TaskId, string? Agent, int Attempt, string Error, bool Final, DateTimeOffset? RetryAt, DateTimeOffset At);

/// <summary>
/// The claimer's lease ran out without a heartbeat: the attempt is counted and the task goes back to the queue
/// (a final TaskFailed follows in the same append when that was the last attempt).
/// </summary>
public sealed record TaskLeaseExpired(Guid TaskId, string Agent, int Attempt, DateTimeOffset LeaseUntil, DateTimeOffset At);

public sealed record TaskCancelled(Guid TaskId, string? Reason, DateTimeOffset At);

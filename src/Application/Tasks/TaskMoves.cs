using Aetherra.Application.Common;
using Aetherra.Domain.Tasks;
using Marten;

namespace Aetherra.Application.Tasks;

public sealed record TaskMoveResult(Guid Id, string Status, int Attempt, DateTimeOffset? LeaseUntil, long Sequence);

/// <summary>
/// One move of a claimed or queued task (heartbeat, complete, fail, cancel): the task's stream at the version
/// read, one event from the pure rule, committed with its audit record, retried on a version conflict.
/// </summary>
public static class TaskMoves
{
    public static Task<TaskMoveResult> MoveAsync(
        Guid id, CommandContext command, IDocumentStore store, TimeProvider clock, Func<AgentTask, DateTimeOffset, object> decide,
        CancellationToken ct) =>
        ConflictPolicy.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var stream = await session.Events.FetchForWriting<AgentTask>(id, ct);
            var current = stream.Aggregate ?? throw new NotFound("task");
            var now = clock.GetUtcNow();
            var e = decide(current, now);
            stream.AppendOne(e);
            var after = e switch
            {
                TaskHeartbeat h => current.Apply(h),
                TaskCompleted c => current.Apply(c),
                TaskFailed f => current.Apply(f),
                TaskCancelled c => current.Apply(c),
                _ => throw new InvalidOperationException($"not a task move: {e.GetType().Name}"),
            };
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct);
            return new TaskMoveResult(id, TaskRules.Lower(after.Status), after.Attempt, after.LeaseUntil, sequence);
        });
}

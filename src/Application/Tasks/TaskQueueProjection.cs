using Aetherra.Application.Common;
using Aetherra.Domain.Tasks;
using JasperFx.Events;
using Marten.Events.Aggregation;

namespace Aetherra.Application.Tasks;

/// <summary>
/// The TaskQueue read model: one document per task (table mt_doc_task_queue), inline so that a claim locks and
/// reads the row its own transaction then updates. Folded by the domain's Create/Apply, plus the creation's global
/// sequence (the queue's "oldest first") and the history.
/// </summary>
public sealed partial class TaskQueueProjection : SingleStreamProjection<AgentTask, Guid>
{
    public static AgentTask Create(IEvent<TaskCreated> e) =>
        AgentTask.Create(e.Data) with { Sequence = e.Sequence, History = [Step(e, "created", null, 0, e.Data.Waiting ? "waiting" : null)] };

    public static AgentTask Apply(IEvent<TaskClaimed> e, AgentTask t) =>
        t.Apply(e.Data) with { History = [.. t.History, Step(e, "claimed", e.Data.Agent, e.Data.Attempt, $"lease until {e.Data.LeaseUntil:O}")] };

    public static AgentTask Apply(IEvent<TaskHeartbeat> e, AgentTask t) =>
        // Heartbeats only move the lease: the history keeps the claim, not every beat.
        t.Apply(e.Data) with { History = t.History };

    public static AgentTask Apply(IEvent<TaskCompleted> e, AgentTask t) =>
        t.Apply(e.Data) with { History = [.. t.History, Step(e, "completed", e.Data.Agent, e.Data.Attempt, null)] };

    public static AgentTask Apply(IEvent<TaskFailed> e, AgentTask t) =>
        t.Apply(e.Data) with { History = [.. t.History, Step(e, e.Data.Final ? "failed" : "retrying", e.Data.Agent, e.Data.Attempt, e.Data.Error)] };

    public static AgentTask Apply(IEvent<TaskLeaseExpired> e, AgentTask t) =>
        t.Apply(e.Data) with { History = [.. t.History, Step(e, "lease-expired", e.Data.Agent, e.Data.Attempt, null)] };

    public static AgentTask Apply(IEvent<TaskCancelled> e, AgentTask t) =>
        t.Apply(e.Data) with { History = [.. t.History, Step(e, "cancelled", null, t.Attempt, e.Data.Reason)] };

    /// <summary>
    /// One event folded as the inline projection folds it (the claim writes its rows itself, ClaimTask.cs, and
    /// hands the projection the very events it inserts).
    /// </summary>
    public static AgentTask Fold(AgentTask t, IEvent e) => e switch
    {
        IEvent<TaskClaimed> c => Apply(c, t),
        IEvent<TaskHeartbeat> h => Apply(h, t),
        IEvent<TaskCompleted> c => Apply(c, t),
        IEvent<TaskFailed> f => Apply(f, t),
        IEvent<TaskLeaseExpired> x => Apply(x, t),
        IEvent<TaskCancelled> c => Apply(c, t),
        _ => throw new InvalidOperationException($"not an event of a created task: {e.EventTypeName}"),
    };

    private static TaskStep Step(IEvent e, string type, string? agent, int attempt, string? detail) =>
        new(type, e.Timestamp.ToMicroseconds(), agent, attempt, detail) { Actor = e.UserName, Sequence = e.Sequence };
}

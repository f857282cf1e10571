using Aetherra.Domain.Tasks;
using JasperFx.Events.Projections;
using Marten;

namespace Aetherra.Application.Tasks;

public static class TaskConfiguration
{
    /// <summary>The TaskQueue table's name (claims lock its rows with SKIP LOCKED).</summary>
    public const string Alias = "task_queue";

    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<TaskCreated>("task.created.v1");
        opts.Events.MapEventType<TaskClaimed>("task.claimed.v1");
        opts.Events.MapEventType<TaskHeartbeat>("task.heartbeat.v1");
        opts.Events.MapEventType<TaskCompleted>("task.completed.v1");
        opts.Events.MapEventType<TaskFailed>("task.failed.v1");
        opts.Events.MapEventType<TaskLeaseExpired>("task.lease-expired.v1");
        opts.Events.MapEventType<TaskCancelled>("task.cancelled.v1");

        // Inline: a claim locks the task's row and its own transaction updates it.
        opts.Projections.Add(new TaskQueueProjection(), ProjectionLifecycle.Inline);
        // What a claim filters and orders on, and what lists filter on, as real columns.
        opts.Schema.For<AgentTask>()
            .DocumentAlias(Alias)
            // Over every task but the claimed ones (MeasurementSwitches.ClaimStatusIndexAll: over every task, as before):
            // over the claimed ones it competed with the leased index for the expired-lease walk, and won whenever the
            // table's statistics predated the claims (taken while the tasks were queued, every lease_until null): the
            // walk then read every claimed task of the table to lock none (1,000 buffers at 5,400 claimed tasks, 580
            // on average over an `ops/bench tasks` run). Lists of claimed tasks use the leased index.
            .Duplicate(x => x.Status, configure: index =>
            {
                if (!Infrastructure.MeasurementSwitches.ClaimStatusIndexAll) index.Predicate = NotClaimed;
            })
            // Indexed over the ready tasks only (MeasurementSwitches.ClaimBefore: over every task, as before): nothing
            // filters on it alone, a claim, which takes its task out of the ready ones, then writes no entry in it (a
            // claim's update changes indexed columns, so each index the new row belongs to gets one), and the generic
            // plan of the queue query's expired-lease walk can no longer walk it past every claimed task.
            .Duplicate(x => x.Priority, configure: ReadyOnly)
            // The claim's two ordered walks (TaskQueue.NextSql), each over its own partial index, so that neither
            // passes over rows it cannot take: the tasks waiting to be claimed, in the queue's order when read
            // backwards (priority descending, then sequence ascending), and the claims whose lease may have run out.
            // A queue whose claimed and finished tasks pile up then claims as fast as an empty one. (They are the
            // indexes of the duplicated sequence and lease_until columns, reshaped: nothing else filters on those alone.)
            .Duplicate(x => x.Sequence, configure: index =>
            {
                index.Name = $"mt_doc_{Alias}_ready";
                index.Mask = "tenant_id, priority, ?";
                index.SortOrder = Weasel.Postgresql.Tables.SortOrder.Desc;
                index.Predicate = Ready;
            })
            // Over every task: over the ready ones only it would compete with the ready index for the ready walk (its
            // generic plan then read every ready task by not_before and sorted them). MeasurementSwitches.
            // ClaimNotBeforeIndexDropped: a column without an index (nothing needs it, and each claim writes an entry in
            // it), not the default: without it the generic plan walks the ready index past every dead entry that a
            // long-running snapshot elsewhere keeps unremoved.
            .Duplicate(x => x.NotBefore, configure: index =>
            {
                if (Infrastructure.MeasurementSwitches.ClaimNotBeforeIndexDropped) WithoutIndex(index);
            })
            .Duplicate(x => x.LeaseUntil, configure: index =>
            {
                index.Name = $"mt_doc_{Alias}_leased";
                index.Mask = "tenant_id, ?";
                index.Predicate = "status = 'Claimed'";
            })
            // Lists find an agent's tasks by it (ReadTasks, the agent profile), always by a name, never a null: the
            // tasks for any agent (most of a queue) are left out, and a claim of one writes no entry.
            .Duplicate(x => x.Agent, configure: index =>
            {
                if (!Infrastructure.MeasurementSwitches.ClaimBefore) index.Predicate = "(agent IS NOT NULL)";
            })
            .Duplicate(x => x.ClaimedBy);
    }

    /// <summary>
    /// status in ('Queued', 'Waiting'), as PostgreSQL writes it back: in any other spelling the schema check at start-up
    /// would see a different index and build it again at every start.
    /// </summary>
    private const string Ready =
        "(status)::text = ANY (ARRAY[('Queued'::character varying)::text, ('Waiting'::character varying)::text])";

    /// <summary>status &lt;&gt; 'Claimed', as PostgreSQL writes it back (see <see cref="Ready"/>).</summary>
    private const string NotClaimed = "(status)::text <> 'Claimed'::text";

    /// <summary>
    /// Takes the index Marten's Duplicate just added back out of the document's mapping (Marten has no duplicated column
    /// without an index; the index keeps its mapping in a private field). Marten then drops the index from an existing
    /// table at start, as it drops any index the mapping no longer has.
    /// </summary>
    private static void WithoutIndex(Marten.Schema.DocumentIndex index)
    {
        var parent = typeof(Marten.Schema.DocumentIndex).GetField("_parent", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)
            ?.GetValue(index) as Marten.Schema.DocumentMapping
            ?? throw new InvalidOperationException("Marten's DocumentIndex no longer holds its mapping in _parent: the not_before index cannot be left out");
        if (!parent.Indexes.Remove(index)) throw new InvalidOperationException("the not_before index is not in its mapping's indexes");
    }

    private static void ReadyOnly(Marten.Schema.DocumentIndex index)
    {
        if (!Infrastructure.MeasurementSwitches.ClaimBefore) index.Predicate = Ready;
    }
}

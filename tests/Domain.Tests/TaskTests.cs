using Aetherra.Domain.Changes;
using Aetherra.Domain.Tasks;

namespace Aetherra.Domain.Tests;

public sealed class TaskTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private static AgentTask Queued(int maxAttempts = 3, DateTimeOffset? deadline = null, string? agent = null) =>
        AgentTask.Create(TaskRules.Create(Guid.NewGuid(), "job", agent, 5, null, [], maxAttempts, deadline, true, T0));

    private static AgentTask Fold(AgentTask task, IEnumerable<object> events) => events.Aggregate(task, (t, e) => e switch
    {
        TaskClaimed c => t.Apply(c),
        TaskLeaseExpired x => t.Apply(x),
        TaskFailed f => t.Apply(f),
        TaskCompleted c => t.Apply(c),
        _ => throw new InvalidOperationException(e.GetType().Name),
    });

    [Fact]
    public void a_claim_counts_the_attempt_and_sets_the_lease()
    {
        var (events, claim) = TaskRules.Claim(Queued(), "a", Lease, T0);
        Assert.Equal(1, claim!.Attempt);
        Assert.Equal(T0 + Lease, claim.LeaseUntil);
        Assert.Single(events);
    }

    [Fact]
    public void a_claim_under_a_running_lease_is_refused()
    {
        var claimed = Fold(Queued(), TaskRules.Claim(Queued(), "a", Lease, T0).Events);
        Assert.Throws<DomainRuleViolated>(() => TaskRules.Claim(claimed, "b", Lease, T0 + Lease / 2));
    }

    [Fact]
    public void an_expired_lease_counts_its_attempt_and_the_task_goes_to_the_next_claimer()
    {
        var task = Queued();
        var claimed = Fold(task, TaskRules.Claim(task, "a", Lease, T0).Events);
        var (events, claim) = TaskRules.Claim(claimed, "b", Lease, T0 + Lease);
        Assert.IsType<TaskLeaseExpired>(events[0]);
        Assert.Equal(("b", 2), (claim!.Agent, claim.Attempt));
    }

    [Fact]
    public void an_expired_lease_on_the_last_attempt_fails_the_task_for_good()
    {
        var task = Queued(maxAttempts: 1);
        var claimed = Fold(task, TaskRules.Claim(task, "a", Lease, T0).Events);
        var (events, claim) = TaskRules.Claim(claimed, "b", Lease, T0 + Lease);
        Assert.Null(claim);
        Assert.Equal(AgentTaskStatus.Failed, Fold(claimed, events).Status);
    }

    [Fact]
    public void a_retry_backs_off_exponentially_and_the_limit_makes_it_final()
    {
        var task = Queued(maxAttempts: 2);
        var first = Fold(task, TaskRules.Claim(task, "a", Lease, T0).Events);
        var retry = TaskRules.Fail(first, "a", 1, "boom", true, null, T0);
        Assert.False(retry.Final);
        Assert.Equal(T0.AddSeconds(1), retry.RetryAt);
        var second = Fold(Fold(first, [retry]), TaskRules.Claim(Fold(first, [retry]), "a", Lease, T0.AddSeconds(1)).Events);
        var retryAt2 = TaskRules.Fail(second, null, null, "boom", true, null, T0);
        Assert.True(retryAt2.Final);
    }

    [Fact]
    public void only_the_current_claim_may_complete_and_only_before_its_lease_runs_out()
    {
        var task = Queued();
        var claimed = Fold(task, TaskRules.Claim(task, "a", Lease, T0).Events);
        Assert.Throws<DomainRuleViolated>(() => TaskRules.Complete(claimed, "b", null, null, T0));
        Assert.Throws<DomainRuleViolated>(() => TaskRules.Complete(claimed, "a", 2, null, T0));
        Assert.Throws<DomainRuleViolated>(() => TaskRules.Complete(claimed, "a", 1, null, T0 + Lease));
        Assert.Equal(AgentTaskStatus.Completed, claimed.Apply(TaskRules.Complete(claimed, "a", 1, null, T0)).Status);
    }

    [Fact]
    public void a_task_past_its_deadline_fails_instead_of_being_claimed_and_one_for_another_agent_is_refused()
    {
        var late = Queued(deadline: T0.AddMinutes(1));
        var (events, claim) = TaskRules.Claim(late, "a", Lease, T0.AddMinutes(2));
        Assert.Null(claim);
        Assert.True(Assert.IsType<TaskFailed>(Assert.Single(events)).Final);
        Assert.Throws<DomainRuleViolated>(() => TaskRules.Claim(Queued(agent: "reviewer"), "coder", Lease, T0));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(-1)]
    public void a_priority_outside_0_to_9_is_refused(int priority) =>
        Assert.Throws<DomainRuleViolated>(() => TaskRules.Create(Guid.NewGuid(), "x", null, priority, null, [], 3, null, true, T0));
}

public sealed class ChangeGateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static Change Proposed() =>
        Change.Create(new ChangeProposed(Guid.NewGuid(), "t", "r", "b", "diff", "sha", "plan", "coder", T0));

    private static Change WithStages(Change c, string key, params (string Stage, bool Passed)[] stages) =>
        stages.Aggregate(c, (x, s) => x.Apply(ChangeRules.RecordStage(x, s.Stage, s.Passed, "e", "esha", key, "sig", T0)));

    [Fact]
    public void every_missing_gate_is_named()
    {
        var c = WithStages(Proposed(), "k1", ("test", true), ("security", false));
        var gates = ChangeRules.MissingGates(c, new HashSet<string> { "k1" }, null).Select(g => g.Gate);
        Assert.Equal(["stage:security", "stage:review", "decision"], gates);
    }

    [Fact]
    public void a_change_with_every_stage_passed_by_a_trusted_key_and_an_approved_decision_ships()
    {
        var c = WithStages(Proposed(), "k1", ("test", true), ("security", true), ("review", true));
        var decision = new DecisionGate(Guid.NewGuid(), "code-change", c.Id.ToString(), true, "approved");
        Assert.Empty(ChangeRules.MissingGates(c, new HashSet<string> { "k1" }, decision));
        Assert.Equal(["stage:test", "stage:security", "stage:review"], ChangeRules.MissingGates(c, new HashSet<string>(), decision).Select(g => g.Gate));
        Assert.Equal(["decision"], ChangeRules.MissingGates(c, new HashSet<string> { "k1" }, decision with { Subject = "other" }).Select(g => g.Gate));
        Assert.Equal(["decision"], ChangeRules.MissingGates(c, new HashSet<string> { "k1" }, decision with { Category = "booking" }).Select(g => g.Gate));
    }

    [Fact]
    public void revoking_a_runner_removes_its_stages_from_a_proposed_change_but_not_from_a_shipped_one()
    {
        var c = WithStages(Proposed(), "k1", ("test", true), ("security", true));
        c = WithStages(c, "k2", ("review", true));
        var revoked = ChangeRules.RevokeRunner(c, "k1", "leaked", T0);
        Assert.Equal(["test", "security"], revoked.Select(r => r.Stage));
        var after = revoked.Aggregate(c, (x, e) => x.Apply(e));
        Assert.Equal(["k2"], after.RunnerKeyIds);
        var shipped = c.Apply(new ChangeShipped(c.Id, Guid.NewGuid(), "{}", "sig", T0));
        Assert.Empty(ChangeRules.RevokeRunner(shipped, "k1", "leaked", T0));
    }
}

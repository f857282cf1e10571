using Aetherra.Domain.Decisions;

namespace Aetherra.Domain.Tests.Decisions;

public sealed class DecisionTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static DecisionProposed Proposed(double confidence = 0.9, Risk risk = Risk.Low) =>
        new(Guid.NewGuid(), "agent:concierge", "booking", "book the table", confidence, "she asked twice", risk,
            [new EvidenceRef(Guid.NewGuid(), 2)], "user:alice", T0);

    private static Decision Fold(DecisionProposed p, object verdict, params object[] more)
    {
        var d = Decision.Create(p);
        foreach (var e in more.Prepend(verdict))
        {
            d = e switch
            {
                DecisionAutoApproved a => d.Apply(a),
                DecisionEscalated x => d.Apply(x),
                DecisionApproved a => d.Apply(a, "reviewer"),
                DecisionRejected r => d.Apply(r, "reviewer"),
                DecisionOutcomeRecorded o => d.Apply(o),
                _ => throw new InvalidOperationException(e.GetType().Name),
            };
        }
        return d;
    }

    [Fact]
    public void a_proposal_whose_confidence_reaches_the_threshold_is_auto_approved_with_that_threshold()
    {
        var (e, verdict) = DecisionRules.Propose(Proposed(0.8), 0.8, false);
        var approved = Assert.IsType<DecisionAutoApproved>(e);
        Assert.True(verdict.AutoApprove);
        Assert.Equal(0.8, approved.Threshold);
    }

    [Fact]
    public void a_proposal_below_the_threshold_is_escalated_and_records_the_threshold_and_why()
    {
        var (e, _) = DecisionRules.Propose(Proposed(0.79), 0.8, false);
        var escalated = Assert.IsType<DecisionEscalated>(e);
        Assert.Equal(0.8, escalated.Threshold);
        Assert.Contains("below the threshold", escalated.Reason);
    }

    [Fact]
    public void high_risk_escalates_even_at_full_confidence()
    {
        var (e, _) = DecisionRules.Propose(Proposed(1.0, Risk.High), 0.5, highRiskAllowed: false);
        Assert.Equal("high risk always escalates", Assert.IsType<DecisionEscalated>(e).Reason);
    }

    [Fact]
    public void high_risk_follows_the_threshold_where_the_policy_allows_it()
    {
        Assert.IsType<DecisionAutoApproved>(DecisionRules.Propose(Proposed(0.9, Risk.High), 0.8, highRiskAllowed: true).Event);
        Assert.IsType<DecisionEscalated>(DecisionRules.Propose(Proposed(0.7, Risk.High), 0.8, highRiskAllowed: true).Event);
    }

    [Fact]
    public void medium_risk_is_governed_by_the_threshold()
    {
        Assert.IsType<DecisionAutoApproved>(DecisionRules.Propose(Proposed(0.85, Risk.Medium), 0.8, false).Event);
    }

    [Fact]
    public void an_escalated_decision_approved_by_a_human_can_then_be_resolved()
    {
        var p = Proposed(0.6);
        var escalated = DecisionRules.Propose(p, 0.8, false).Event;
        var d = Fold(p, escalated, DecisionRules.Approve(Fold(p, escalated), "fine", T0));
        Assert.Equal(DecisionStatus.Approved, d.Status);
        Assert.False(d.AutoApproved);
        var outcome = DecisionRules.RecordOutcome(d, true, 0.7, null, T0);
        Assert.False(outcome.AutoApproved);
        Assert.Equal(0.6, outcome.Confidence);
        Assert.Equal(DecisionStatus.Resolved, d.Apply(outcome).Status);
    }

    [Fact]
    public void approving_an_approved_decision_is_refused()
    {
        var p = Proposed(0.95);
        var d = Fold(p, DecisionRules.Propose(p, 0.8, false).Event);
        var e = Assert.Throws<DomainRuleViolated>(() => DecisionRules.Approve(d, null, T0));
        Assert.Contains("only an escalated decision", e.Message);
    }

    [Fact]
    public void rejecting_a_rejected_decision_is_refused()
    {
        var p = Proposed(0.5);
        var escalated = DecisionRules.Propose(p, 0.8, false).Event;
        var d = Fold(p, escalated, new DecisionRejected(p.DecisionId, null, T0));
        Assert.Throws<DomainRuleViolated>(() => DecisionRules.Reject(d, null, T0));
    }

    [Fact]
    public void an_outcome_for_a_rejected_decision_is_refused()
    {
        var p = Proposed(0.5);
        var d = Fold(p, DecisionRules.Propose(p, 0.8, false).Event, new DecisionRejected(p.DecisionId, "no", T0));
        Assert.Contains("rejected", Assert.Throws<DomainRuleViolated>(() => DecisionRules.RecordOutcome(d, true, null, null, T0)).Message);
    }

    [Fact]
    public void an_outcome_for_a_decision_awaiting_approval_is_refused()
    {
        var p = Proposed(0.5);
        var d = Fold(p, DecisionRules.Propose(p, 0.8, false).Event);
        Assert.Contains("awaits approval", Assert.Throws<DomainRuleViolated>(() => DecisionRules.RecordOutcome(d, true, null, null, T0)).Message);
    }

    [Fact]
    public void a_second_outcome_is_refused()
    {
        var p = Proposed(0.95);
        var d = Fold(p, DecisionRules.Propose(p, 0.8, false).Event);
        d = d.Apply(DecisionRules.RecordOutcome(d, true, null, null, T0));
        Assert.Contains("already has an outcome", Assert.Throws<DomainRuleViolated>(() => DecisionRules.RecordOutcome(d, false, null, null, T0)).Message);
    }

    [Fact]
    public void a_policy_id_is_the_same_for_the_same_agent_and_category_and_differs_otherwise()
    {
        Assert.Equal(AutonomyPolicy.IdFor("a", "b"), AutonomyPolicy.IdFor("a", "b"));
        Assert.NotEqual(AutonomyPolicy.IdFor("a", "bc"), AutonomyPolicy.IdFor("ab", "c"));
        Assert.Equal(5, AutonomyPolicy.IdFor("a", "b").Version);
    }

    [Fact]
    public void a_correction_raises_the_threshold_up_to_one_and_not_past_it()
    {
        var id = Guid.NewGuid();
        Assert.Equal(0.9, AutonomyCorrections.Raise(id, "a", "c", 0.8, 0.1, "failures", T0)!.To, 6);
        Assert.Equal(1.0, AutonomyCorrections.Raise(id, "a", "c", 0.95, 0.2, "failures", T0)!.To);
        Assert.Null(AutonomyCorrections.Raise(id, "a", "c", 1.0, 0.1, "failures", T0));
        Assert.Throws<DomainRuleViolated>(() => AutonomyCorrections.Raise(id, "a", "c", 0.8, 0, "nothing", T0));
    }
}

namespace Aetherra.Domain.Decisions;

public sealed record DecisionReview(bool Approved, string? Note, DateTimeOffset At, string? By);

public sealed record DecisionOutcome(bool Success, double? Score, string? Note, DateTimeOffset At);

/// <summary>The state of one decision, folded from its stream.</summary>
public sealed record Decision(
    Guid Id,
    string Agent,
    string Category,
    string Action,
    double Confidence,
    string Rationale,
    Risk Risk,
    IReadOnlyList<EvidenceRef> Evidence,
    string? Subject,
    DateTimeOffset ProposedAt,
    DecisionStatus Status,
    double? Threshold,
    bool AutoApproved,
    string? EscalationReason,
    DecisionReview? Review,
    DecisionOutcome? Outcome,
    DateTimeOffset? ResolvedAt,
    int Version)
{
    /// <summary>Global sequence of the proposal: the approval queue's order and cursor (set by the projection).</summary>
    public long Sequence { get; init; }

    public static Decision Create(DecisionProposed e) => new(
        e.DecisionId, e.Agent, e.Category, e.Action, e.Confidence, e.Rationale, e.Risk, e.Evidence, e.Subject,
        e.ProposedAt, DecisionStatus.Proposed, null, false, null, null, null, null, 1);

    public Decision Apply(DecisionAutoApproved e) =>
        this with { Status = DecisionStatus.Approved, Threshold = e.Threshold, AutoApproved = true, Version = Version + 1 };

    public Decision Apply(DecisionEscalated e) =>
        this with { Status = DecisionStatus.Escalated, Threshold = e.Threshold, EscalationReason = e.Reason, Version = Version + 1 };

    public Decision Apply(DecisionApproved e, string? by) =>
        this with { Status = DecisionStatus.Approved, Review = new DecisionReview(true, e.Note, e.ApprovedAt, by), Version = Version + 1 };

    public Decision Apply(DecisionRejected e, string? by) =>
        this with { Status = DecisionStatus.Rejected, Review = new DecisionReview(false, e.Note, e.RejectedAt, by), Version = Version + 1 };

    public Decision Apply(DecisionOutcomeRecorded e) => this with
    {
        Status = DecisionStatus.Resolved,
        Outcome = new DecisionOutcome(e.Success, e.Score, e.Note, e.RecordedAt),
        ResolvedAt = e.RecordedAt,
        Version = Version + 1
    };
}

/// <summary>The legal transitions of a decision; anything else is a domain rule violation (422).</summary>
public static class DecisionRules
{
    /// <summary>A proposal and the governor's verdict on it, appended together.</summary>
    public static (object Event, Verdict Verdict) Propose(
        DecisionProposed proposed, double threshold, bool highRiskAllowed, bool agentSuspended = false)
    {
        if (proposed.Confidence is < 0 or > 1 || double.IsNaN(proposed.Confidence))
            throw new DomainRuleViolated("confidence is between 0 and 1");
        var verdict = Governor.Judge(proposed.Confidence, proposed.Risk, threshold, highRiskAllowed, agentSuspended);
        object e = verdict.AutoApprove
            ? new DecisionAutoApproved(proposed.DecisionId, proposed.Agent, proposed.Category, proposed.Confidence, threshold, proposed.ProposedAt)
            : new DecisionEscalated(proposed.DecisionId, proposed.Agent, proposed.Category, proposed.Confidence, threshold, verdict.Reason, proposed.ProposedAt);
        return (e, verdict);
    }

    public static DecisionApproved Approve(Decision current, string? note, DateTimeOffset now)
    {
        EnsureEscalated(current, "approved");
        return new DecisionApproved(current.Id, note, now);
    }

    public static DecisionRejected Reject(Decision current, string? note, DateTimeOffset now)
    {
        EnsureEscalated(current, "rejected");
        return new DecisionRejected(current.Id, note, now);
    }

    public static DecisionOutcomeRecorded RecordOutcome(Decision current, bool success, double? score, string? note, DateTimeOffset now) =>
        current.Status switch
        {
            DecisionStatus.Approved => new DecisionOutcomeRecorded(current.Id, current.Agent, current.Category, current.Confidence,
                current.AutoApproved, success, score, note, now),
            DecisionStatus.Resolved => throw new DomainRuleViolated("the decision already has an outcome"),
            DecisionStatus.Rejected => throw new DomainRuleViolated("a rejected decision was never carried out and has no outcome"),
            _ => throw new DomainRuleViolated("the decision awaits approval; only an approved decision has an outcome"),
        };

    private static void EnsureEscalated(Decision current, string toBe)
    {
        if (current.Status != DecisionStatus.Escalated)
            throw new DomainRuleViolated(
                $"only an escalated decision can be {toBe}; this one is {current.Status.ToString().ToLowerInvariant()}");
    }
}

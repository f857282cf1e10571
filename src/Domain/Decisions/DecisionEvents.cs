namespace Aetherra.Domain.Decisions;

public enum Risk { Low, Medium, High }

public enum DecisionStatus { Proposed, Approved, Escalated, Rejected, Resolved }

/// <summary>A memory the decision relied on, at the version the agent saw (provenance).</summary>
public readonly record struct EvidenceRef(Guid MemoryId, int Version);

/// <summary>An agent proposed to act. The governor's verdict follows in the same transaction.</summary>
public sealed record DecisionProposed(
    Guid DecisionId,
    string Agent,
    string Category,
    string Action,
    double Confidence,
    string Rationale,
    Risk Risk,
    IReadOnlyList<EvidenceRef> Evidence,
    string? Subject,
    DateTimeOffset ProposedAt);

/// <summary>The governor let the decision through: its confidence reached the threshold in force, recorded here.</summary>
public sealed record DecisionAutoApproved(
    Guid DecisionId, string Agent, string Category, double Confidence, double Threshold, DateTimeOffset At);

/// <summary>The governor sent the decision to a human (the approval queue), with the threshold in force and why.</summary>
public sealed record DecisionEscalated(
    Guid DecisionId, string Agent, string Category, double Confidence, double Threshold, string Reason, DateTimeOffset At);

/// <summary>A human approved an escalated decision (the approver is the event's actor).</summary>
public sealed record DecisionApproved(Guid DecisionId, string? Note, DateTimeOffset ApprovedAt);

/// <summary>A human rejected an escalated decision: it is never carried out and has no outcome.</summary>
public sealed record DecisionRejected(Guid DecisionId, string? Note, DateTimeOffset RejectedAt);

/// <summary>
/// What came of an approved decision. It repeats the agent, category, stated confidence and how the decision was
/// approved so that the learning loop folds it without looking anything up.
/// </summary>
public sealed record DecisionOutcomeRecorded(
    Guid DecisionId,
    string Agent,
    string Category,
    double Confidence,
    bool AutoApproved,
    bool Success,
    double? Score,
    string? Note,
    DateTimeOffset RecordedAt);

/// <summary>
/// The autonomy threshold of an agent and category moved (the threshold rule after an outcome, or a correction
/// such as homeostasis'). On the policy stream of that agent and category; the learning loop's thresholds are a
/// fold of these events, so they replay to the same values.
/// </summary>
public sealed record AutonomyThresholdAdjusted(
    Guid PolicyId,
    string Agent,
    string Category,
    double From,
    double To,
    string Reason,
    int ResolvedSample,
    double? ObservedSuccessRate,
    DateTimeOffset AdjustedAt);

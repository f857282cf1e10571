using Aetherra.Domain.Decisions;
using JasperFx.Events;
using Marten.Events.Projections;

namespace Aetherra.Application.Learning;

public sealed record ThresholdChange(DateTimeOffset At, double From, double To, string Reason, int ResolvedSample, string? By, long Sequence);

/// <summary>One confidence bin (0.0-0.1, ..., 0.9-1.0) of the reliability diagram.</summary>
public sealed class ReliabilityBin
{
    public int Count { get; set; }
    public double ConfidenceSum { get; set; }
    public int Successes { get; set; }
}

/// <summary>How far one agent's judgement has earned autonomy in one category: the learning loop's read model.</summary>
public sealed class LearningStats
{
    public const int Bins = 10;

    public Guid Id { get; set; }
    public string Agent { get; set; } = "";
    public string Category { get; set; } = "";
    public int Decisions { get; set; }
    public int AutoApproved { get; set; }
    public int Escalated { get; set; }
    public int Resolved { get; set; }
    public int Successes { get; set; }
    public int AutoApprovedResolved { get; set; }
    public int AutoApprovedFailures { get; set; }
    /// <summary>Sum of (confidence - outcome)^2 over resolved decisions; the Brier score is its mean.</summary>
    public double BrierSum { get; set; }
    public List<ReliabilityBin> Reliability { get; set; } = [];
    /// <summary>The threshold in force: the latest adjustment, else the one the latest verdict was given under.</summary>
    public double? Threshold { get; set; }
    public List<ThresholdChange> ThresholdHistory { get; set; } = [];
}

/// <summary>
/// Async, per agent and category (the policy id): decisions, outcomes and threshold adjustments, folded from events
/// only (event timestamps, never the clock), so a rebuild gives the same statistics and the same thresholds.
/// </summary>
public sealed class LearningLoopProjection : MultiStreamProjection<LearningStats, Guid>
{
    public const string ProjectionName = "LearningLoop";

    public LearningLoopProjection()
    {
        Name = ProjectionName;
        Identity<DecisionProposed>(e => AutonomyPolicy.IdFor(e.Agent, e.Category));
        Identity<DecisionAutoApproved>(e => AutonomyPolicy.IdFor(e.Agent, e.Category));
        Identity<DecisionEscalated>(e => AutonomyPolicy.IdFor(e.Agent, e.Category));
        Identity<DecisionOutcomeRecorded>(e => AutonomyPolicy.IdFor(e.Agent, e.Category));
        Identity<AutonomyThresholdAdjusted>(e => e.PolicyId);
        // Evolve (unlike Apply methods) tells Marten no event type: without this the daemon loads every event for it.
        if (Aetherra.Infrastructure.MeasurementSwitches.ProjectionsReadEveryEvent) return;
        IncludeType<DecisionProposed>();
        IncludeType<DecisionAutoApproved>();
        IncludeType<DecisionEscalated>();
        IncludeType<DecisionOutcomeRecorded>();
        IncludeType<AutonomyThresholdAdjusted>();
    }

    public override LearningStats Evolve(LearningStats? snapshot, Guid id, IEvent e)
    {
        var s = snapshot ?? new LearningStats { Id = id };
        if (s.Reliability.Count != LearningStats.Bins)
            s.Reliability = Enumerable.Range(0, LearningStats.Bins).Select(_ => new ReliabilityBin()).ToList();
        switch (e.Data)
        {
            case DecisionProposed p:
                (s.Agent, s.Category) = (p.Agent, p.Category);
                s.Decisions++;
                break;
            case DecisionAutoApproved a:
                s.AutoApproved++;
                s.Threshold = a.Threshold;
                break;
            case DecisionEscalated x:
                s.Escalated++;
                s.Threshold = x.Threshold;
                break;
            case DecisionOutcomeRecorded o:
                s.Resolved++;
                var observed = o.Success ? 1.0 : 0.0;
                if (o.Success) s.Successes++;
                s.BrierSum += (o.Confidence - observed) * (o.Confidence - observed);
                var bin = s.Reliability[Math.Clamp((int)(o.Confidence * LearningStats.Bins), 0, LearningStats.Bins - 1)];
                bin.Count++;
                bin.ConfidenceSum += o.Confidence;
                if (o.Success) bin.Successes++;
                if (o.AutoApproved)
                {
                    s.AutoApprovedResolved++;
                    if (!o.Success) s.AutoApprovedFailures++;
                }
                break;
            case AutonomyThresholdAdjusted t:
                (s.Agent, s.Category) = (t.Agent, t.Category);
                s.Threshold = t.To;
                s.ThresholdHistory.Add(new ThresholdChange(t.AdjustedAt, t.From, t.To, t.Reason, t.ResolvedSample, e.UserName, e.Sequence));
                break;
        }
        return s;
    }
}

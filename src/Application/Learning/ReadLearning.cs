using Marten;

namespace Aetherra.Application.Learning;

public sealed record ReliabilityView(double From, double To, int Count, double? MeanConfidence, double? ObservedSuccess);

public sealed record CategoryLearning(
    string Category, int Decisions, int AutoApproved, int Escalated, int Resolved, double? SuccessRate, double? Brier,
    int AutoApprovedResolved, double? AutoApprovedFailureRate, double? Threshold, IReadOnlyList<ReliabilityView> Reliability,
    IReadOnlyList<ThresholdChange> ThresholdHistory);

public sealed record AgentLearning(string Agent, IReadOnlyList<CategoryLearning> Categories);

public static class ReadLearning
{
    /// <summary>Every category of the agent, by name; an agent without decisions has none (not a 404: nothing learnt yet).</summary>
    public static async Task<AgentLearning> Handle(IQuerySession session, string agent, CancellationToken ct)
    {
        var rows = await session.Query<LearningStats>().Where(x => x.Agent == agent).OrderBy(x => x.Category).ToListAsync(ct);
        return new AgentLearning(agent, rows.Select(View).ToList());
    }

    private static CategoryLearning View(LearningStats s) => new(
        s.Category, s.Decisions, s.AutoApproved, s.Escalated, s.Resolved,
        s.Resolved == 0 ? null : (double)s.Successes / s.Resolved,
        s.Resolved == 0 ? null : s.BrierSum / s.Resolved,
        s.AutoApprovedResolved,
        s.AutoApprovedResolved == 0 ? null : (double)s.AutoApprovedFailures / s.AutoApprovedResolved,
        s.Threshold,
        s.Reliability.Select((b, i) => new ReliabilityView(i / (double)LearningStats.Bins, (i + 1) / (double)LearningStats.Bins, b.Count,
            b.Count == 0 ? null : b.ConfidenceSum / b.Count, b.Count == 0 ? null : (double)b.Successes / b.Count)).ToList(),
        s.ThresholdHistory);
}

using System.Globalization;
using Aetherra.Application.Learning;
using Aetherra.Domain.Decisions;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Configuration;

namespace Aetherra.Application.Decisions;

/// <summary>
/// The threshold rule's options and the categories where high risk may be auto-approved, from configuration:
/// AETHERRA_AUTONOMY_{TARGET,MIN_SAMPLE,MAX_STEP,INITIAL_THRESHOLD,WINDOW,Z} and
/// AETHERRA_AUTONOMY_HIGH_RISK_CATEGORIES (comma separated; none by default). See docs/operations.md.
/// </summary>
public sealed record AutonomySettings(ThresholdOptions Threshold, IReadOnlySet<string> HighRiskCategories)
{
    public static readonly AutonomySettings Default = new(ThresholdOptions.Default, new HashSet<string>());

    public static AutonomySettings From(IConfiguration config)
    {
        double Number(string name, double fallback) =>
            double.TryParse(config[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : fallback;
        var d = ThresholdOptions.Default;
        var options = new ThresholdOptions(
            Number("AETHERRA_AUTONOMY_TARGET", d.Target), (int)Number("AETHERRA_AUTONOMY_MIN_SAMPLE", d.MinSample),
            Number("AETHERRA_AUTONOMY_MAX_STEP", d.MaxStep), Number("AETHERRA_AUTONOMY_INITIAL_THRESHOLD", d.Initial),
            (int)Number("AETHERRA_AUTONOMY_WINDOW", d.Window), Number("AETHERRA_AUTONOMY_Z", d.Z));
        if (!options.IsValid) throw new InvalidOperationException($"Invalid autonomy options: {options}");
        var highRisk = (config["AETHERRA_AUTONOMY_HIGH_RISK_CATEGORIES"] ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.Ordinal);
        return new AutonomySettings(options, highRisk);
    }

    public bool AllowsHighRisk(string category) => HighRiskCategories.Contains(category);
}

public static class DecisionConfiguration
{
    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<DecisionProposed>("decision.proposed.v1");
        opts.Events.MapEventType<DecisionAutoApproved>("decision.auto-approved.v1");
        opts.Events.MapEventType<DecisionEscalated>("decision.escalated.v1");
        opts.Events.MapEventType<DecisionApproved>("decision.approved.v1");
        opts.Events.MapEventType<DecisionRejected>("decision.rejected.v1");
        opts.Events.MapEventType<DecisionOutcomeRecorded>("decision.outcome-recorded.v1");
        opts.Events.MapEventType<AutonomyThresholdAdjusted>("autonomy.threshold-adjusted.v1");

        // Inline: approve, reject and outcome decide on the decision's state, the queue reads it, and the governor
        // needs the threshold in force at once.
        opts.Projections.Add(new DecisionProjection(), ProjectionLifecycle.Inline);
        opts.Projections.Add(new AutonomyPolicyProjection(), ProjectionLifecycle.Inline);
        opts.Schema.For<Decision>()
            .Index(x => x.Agent)
            .Index(x => x.Category)
            .Index(x => x.Status)
            .Index(x => x.ResolvedAt)
            .Index(x => x.Sequence);

        // Async: statistics nobody decides on in the write path.
        opts.Projections.Add(new LearningLoopProjection(), ProjectionLifecycle.Async);
        opts.Schema.For<LearningStats>().Index(x => x.Agent);
    }
}

using System.Globalization;
using Aetherra.Domain.Decisions;

namespace Aetherra.Domain.Tests.Decisions;

/// <summary>Issue 4's simulation at test size: the pure rule and governor fed by seeded random agents.</summary>
public sealed class AutonomySimulationTests
{
    [Fact]
    public void an_overconfident_agent_has_its_auto_approved_failures_brought_under_one_minus_target_within_ten_rounds()
    {
        var o = ThresholdOptions.Default;
        var rows = AutonomySimulation.Run(42, AutonomySimulation.OverconfidentStated, AutonomySimulation.Overconfident, o);
        foreach (var r in rows)
            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Round,2} escalated {r.EscalationRate:0.00} auto-failures {r.AutoFailureRate:0.00} ({r.AutoApprovedFailures}/{r.AutoApproved}) threshold {r.ThresholdAtEnd:0.00}"));
        Assert.True(AutonomySimulation.ExpectedOverconfidentFailure(o.Initial) > 1 - o.Target, "the initial threshold lets too many failures through");
        Assert.True(AutonomySimulation.PooledFailureRate(rows, 11, 20) < 1 - o.Target);
    }

    [Fact]
    public void across_many_seeds_the_auto_approved_failures_after_ten_rounds_stay_under_one_minus_target()
    {
        // A pooled rate of ~200 auto-approved decisions has a sampling spread of about 0.02 by itself: the mean over
        // seeds must be clearly under 1 - target, and nearly every seed under it.
        var o = ThresholdOptions.Default;
        var late = Enumerable.Range(0, 100)
            .Select(seed => AutonomySimulation.PooledFailureRate(
                AutonomySimulation.Run(seed, AutonomySimulation.OverconfidentStated, AutonomySimulation.Overconfident, o), 11, 20))
            .ToList();
        Assert.True(late.Average() < 1 - o.Target - 0.02, $"mean {late.Average():0.000}");
        Assert.True(late.Count(rate => rate < 1 - o.Target) >= 95, string.Join(", ", late.Select(r => r.ToString("0.000"))));
    }
}

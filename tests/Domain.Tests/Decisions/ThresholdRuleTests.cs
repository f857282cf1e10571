using Aetherra.Domain.Decisions;

namespace Aetherra.Domain.Tests.Decisions;

public sealed class ThresholdRuleTests
{
    private static readonly ThresholdOptions Options = ThresholdOptions.Default;

    private static List<Resolved> Many(int count, double confidence, bool success) =>
        Enumerable.Range(0, count).Select(_ => new Resolved(confidence, success)).ToList();

    [Fact]
    public void fewer_resolved_decisions_than_the_minimum_sample_never_move_the_threshold()
    {
        Assert.Null(ThresholdRule.Evaluate(0.8, Many(Options.MinSample - 1, 0.99, false), Options));
    }

    [Fact]
    public void a_proven_record_at_lower_confidence_lowers_the_threshold_by_at_most_the_step()
    {
        var move = Assert.NotNull(ThresholdRule.Evaluate(0.8, Many(200, 0.55, true), Options));
        Assert.Equal(0.7, move.To, 6);
        Assert.Contains("lowering toward 0.50", move.Reason);
    }

    [Fact]
    public void failures_at_and_above_the_threshold_raise_it()
    {
        var resolved = Many(30, 0.85, false).Concat(Many(30, 0.85, true)).ToList();
        var move = Assert.NotNull(ThresholdRule.Evaluate(0.8, resolved, Options));
        Assert.Equal(0.9, move.To, 6);
        Assert.Contains("raising", move.Reason);
    }

    [Fact]
    public void it_holds_while_the_current_threshold_meets_the_target_without_proof()
    {
        // 19 of 20 above 0.8 succeeded: 0.95 observed, but its lower bound at z=2 is far below 0.9.
        var resolved = Many(19, 0.85, true).Concat(Many(1, 0.85, false)).ToList();
        Assert.Null(ThresholdRule.Evaluate(0.8, resolved, Options));
    }

    [Fact]
    public void the_lowest_threshold_that_meets_the_target_is_chosen()
    {
        // Reliable at 0.95, failing at 0.89: the lowest threshold that meets the target is 0.90.
        var resolved = Many(200, 0.95, true).Concat(Many(200, 0.89, false)).ToList();
        Assert.Equal(0.9, ThresholdRule.Evaluate(0.95, resolved, Options)!.Value.To, 6);
    }

    [Fact]
    public void the_wilson_lower_bound_is_below_the_observed_rate_and_equal_to_it_at_z_zero()
    {
        Assert.Equal(0.9, ThresholdRule.LowerBound(90, 100, 0), 9);
        Assert.InRange(ThresholdRule.LowerBound(90, 100, 2), 0.8, 0.9);
        Assert.Equal(0, ThresholdRule.LowerBound(0, 0, 2));
    }
}

using Aetherra.Domain.Decisions;
using CsCheck;

namespace Aetherra.Domain.Tests.Decisions;

public sealed class ThresholdProperties
{
    private static readonly Gen<ThresholdOptions> AnyOptions =
        Gen.Select(Gen.Double[0.5, 1.0], Gen.Int[1, 60], Gen.Double[0.01, 1.0], Gen.Double[0.0, 1.0], Gen.Double[0.0, 3.0])
            .Select((target, minSample, step, initial, z) => new ThresholdOptions(target, minSample, step, initial, 500, z));

    private static readonly Gen<Resolved> AnyResolved =
        Gen.Select(Gen.Double[0.0, 1.0], Gen.Bool, (c, s) => new Resolved(c, s));

    [Fact]
    public void the_threshold_never_leaves_zero_to_one_and_never_moves_more_than_the_step()
    {
        Gen.Select(AnyOptions, Gen.Double[0.0, 1.0], AnyResolved.List[0, 300]).Sample((o, current, resolved) =>
        {
            if (ThresholdRule.Evaluate(current, resolved, o) is not { } move) return true;
            return move.To is >= 0 and <= 1 && Math.Abs(move.To - current) <= o.MaxStep + 1e-9 && move.From == current;
        });
    }

    [Fact]
    public void the_threshold_never_moves_on_fewer_resolved_decisions_than_the_minimum_sample()
    {
        Gen.Select(AnyOptions, Gen.Double[0.0, 1.0], AnyResolved.List[0, 59]).Sample((o, current, resolved) =>
            resolved.Count >= o.MinSample || ThresholdRule.Evaluate(current, resolved, o) is null);
    }

    [Fact]
    public void a_long_run_of_moves_stays_within_zero_to_one()
    {
        Gen.Select(Gen.Int, Gen.Double[0.0, 1.0]).Sample((seed, bias) =>
        {
            var rows = AutonomySimulation.Run(seed, r => r.NextDouble(), c => bias, ThresholdOptions.Default, rounds: 10);
            return rows.All(r => r.ThresholdAtEnd is >= 0 and <= 1);
        }, iter: 20);
    }

    /// <summary>
    /// A perfectly calibrated agent (succeeds with its stated confidence, stated uniformly in [0.5, 1]) converges to
    /// the target from above: what a threshold t lets through succeeds, in expectation, (1 + t) / 2, and over rounds
    /// 21 to 40 that never averages below the target, whatever the seed.
    /// </summary>
    [Fact]
    public void a_perfectly_calibrated_agent_never_settles_below_the_target()
    {
        var target = ThresholdOptions.Default.Target;
        Gen.Int.Sample(seed => ExpectedSuccessLate(seed) >= target, iter: 20);
    }

    /// <summary>
    /// ...and near it: the rule asks for proof at z = 2, so it settles above the exact boundary t* = 0.8 and noise
    /// sometimes holds it high for a while (400 seeds: 0.914 to 0.986 per seed, 0.949 on average); on average over
    /// seeds it stays within 0.06 of the target rather than shutting autonomy off.
    /// </summary>
    [Fact]
    public void a_perfectly_calibrated_agent_converges_near_the_target_on_average()
    {
        var mean = Enumerable.Range(0, 50).Average(ExpectedSuccessLate);
        Assert.InRange(mean, ThresholdOptions.Default.Target, ThresholdOptions.Default.Target + 0.06);
    }

    private static double ExpectedSuccessLate(int seed) =>
        AutonomySimulation.Run(seed, r => 0.5 + 0.5 * r.NextDouble(), c => c, ThresholdOptions.Default, rounds: 40)
            .Skip(20).Average(r => (1 + r.ThresholdAtEnd) / 2);
}

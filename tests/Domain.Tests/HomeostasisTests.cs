using Aetherra.Domain.Homeostasis;
using CsCheck;

namespace Aetherra.Domain.Tests;

public sealed class HomeostasisTests
{
    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Tuning Tuning = new(Alpha: 0.2, K: 3, WarmUp: 10, RaiseAfter: 3, ResolveAfter: 3, MinSpread: 0.05);
    private static readonly Setpoint MaxHundred = new(null, 100);

    /// <summary>Feeds a series of one vital through the decisions, folding every event; answers the events of each sample.</summary>
    private static List<IReadOnlyList<object>> Run(IEnumerable<double> series, Func<string, Setpoint> setpoints, Tuning? tuning = null)
    {
        var t = tuning ?? Tuning;
        var state = NodeVitals.Create("node-a");
        var decided = new List<IReadOnlyList<object>>();
        var i = 0;
        foreach (var value in series)
        {
            var events = HomeostasisDecisions.Sample(state, Epoch.AddMinutes(i++), new Dictionary<string, double> { ["v"] = value }, setpoints, t);
            foreach (var e in events)
                state = e switch
                {
                    VitalsSampled s => state.Apply(s, t.Alpha),
                    DeviationDetected d => state.Apply(d),
                    DeviationResolved r => state.Apply(r),
                    _ => state,
                };
            decided.Add(events);
        }
        return decided;
    }

    private static IEnumerable<(int Sample, object Event)> Transitions(List<IReadOnlyList<object>> run) =>
        run.SelectMany((events, i) => events.Where(e => e is DeviationDetected or DeviationResolved).Select(e => (i, e)));

    [Fact]
    public void a_vital_above_its_setpoint_deviates_only_after_the_configured_run_and_recovers_after_its_own_run()
    {
        double[] series = [50, 50, 150, 150, 150, 150, 50, 50, 50, 50];

        var transitions = Transitions(Run(series, _ => MaxHundred)).ToList();

        Assert.Equal(2, transitions.Count);
        Assert.Equal(4, transitions[0].Sample);
        var detected = Assert.IsType<DeviationDetected>(transitions[0].Event);
        Assert.Equal("v", detected.Vital);
        Assert.Contains("above its setpoint maximum 100", detected.Reason);
        Assert.Equal(8, transitions[1].Sample);
        Assert.IsType<DeviationResolved>(transitions[1].Event);
    }

    [Fact]
    public void a_short_excursion_shorter_than_the_run_raises_nothing()
    {
        Assert.Empty(Transitions(Run([50, 150, 150, 50, 150, 150, 50], _ => MaxHundred)));
    }

    [Fact]
    public void a_vital_far_from_its_own_baseline_deviates_after_warm_up_without_any_setpoint()
    {
        var series = Enumerable.Range(0, 20).Select(i => 100.0 + (i % 2 == 0 ? 2 : -2)).Concat([400, 400, 400]);

        var transitions = Transitions(Run(series, _ => Setpoint.None)).ToList();

        var detected = Assert.IsType<DeviationDetected>(Assert.Single(transitions).Event);
        Assert.Contains("from its baseline", detected.Reason);
    }

    [Fact]
    public void a_lasting_new_level_becomes_the_baseline_and_the_deviation_resolves()
    {
        var series = Enumerable.Range(0, 20).Select(i => 100.0 + (i % 2 == 0 ? 2 : -2)).Concat(Enumerable.Repeat(400.0, 30));

        var transitions = Transitions(Run(series, _ => Setpoint.None)).Select(t => t.Event.GetType()).ToList();

        Assert.Equal([typeof(DeviationDetected), typeof(DeviationResolved)], transitions);
    }

    [Fact]
    public void before_warm_up_the_baseline_judges_nothing()
    {
        Assert.Empty(Transitions(Run([1, 1000, 1, 1000, 1, 1000], _ => Setpoint.None)));
    }

    [Fact]
    public void a_constant_zero_vital_has_no_baseline_scale_and_only_its_setpoint_can_raise_it()
    {
        var series = Enumerable.Repeat(0.0, 15).Concat(Enumerable.Repeat(1.0, 5)).ToList();

        Assert.Empty(Transitions(Run(series, _ => Setpoint.None)));
        Assert.Single(Transitions(Run(series, _ => new Setpoint(null, 0.5))));
    }

    [Fact]
    public void a_setpoint_with_its_minimum_above_its_maximum_is_refused()
    {
        Assert.Throws<DomainRuleViolated>(() => HomeostasisDecisions.ChangeSetpoint("v", new Setpoint(5, 1), Epoch));
        Assert.Equal(new SetpointChanged("v", 1, 5, Epoch), HomeostasisDecisions.ChangeSetpoint("v", new Setpoint(1, 5), Epoch));
    }

    [Fact]
    public void a_series_oscillating_around_the_limit_never_flaps()
    {
        // Alternating runs shorter than both hysteresis runs, around the setpoint maximum, with noise.
        var gen = Gen.Select(Gen.Int[1, 2].Array[1, 40], Gen.Double[0, 5].Array[80]);
        gen.Sample((runs, noise) =>
        {
            var series = runs.SelectMany((length, i) => Enumerable.Repeat(i % 2 == 0 ? 99.0 : 101.0, length))
                .Select((v, i) => v + (v > 100 ? noise[i % noise.Length] : -noise[i % noise.Length]));
            return !Transitions(Run(series, _ => MaxHundred)).Any();
        });
    }

    [Fact]
    public void transitions_always_alternate_and_each_needs_its_full_run()
    {
        // Any series at all: detected and resolved alternate, starting with detected, and each is preceded by
        // at least its run of samples on the same side (never two transitions closer than the shorter run).
        Gen.Double[0, 200].Array[0, 120].Sample(series =>
        {
            var transitions = Transitions(Run(series, _ => MaxHundred)).ToList();
            for (var i = 0; i < transitions.Count; i++)
            {
                var expected = i % 2 == 0 ? typeof(DeviationDetected) : typeof(DeviationResolved);
                if (transitions[i].Event.GetType() != expected) return false;
                if (i > 0 && transitions[i].Sample - transitions[i - 1].Sample < Math.Min(Tuning.RaiseAfter, Tuning.ResolveAfter)) return false;
            }
            return true;
        });
    }

    [Fact]
    public void folding_the_decided_events_gives_the_moving_mean_and_deviation_of_the_series()
    {
        var state = NodeVitals.Create("n");
        foreach (var v in new[] { 10.0, 20.0 })
            state = state.Apply(new VitalsSampled("n", Epoch, new Dictionary<string, double> { ["v"] = v }, []), 0.5);

        var vital = state.Vitals["v"];
        Assert.Equal(15, vital.Mean, 9);
        Assert.Equal(Math.Sqrt(0.5 * (0 + 0.5 * 100)), vital.StdDev, 9);
        Assert.Equal(2, vital.Samples);
    }
}

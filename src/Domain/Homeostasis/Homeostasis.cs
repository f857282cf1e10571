namespace Aetherra.Domain.Homeostasis;

/// <summary>The vitals of one node, folded from its events.</summary>
public sealed record NodeVitals(string Node, IReadOnlyDictionary<string, Vital> Vitals)
{
    public static NodeVitals Create(string node) => new(node, new Dictionary<string, Vital>());

    public NodeVitals Apply(VitalsSampled e, double alpha)
    {
        var vitals = new Dictionary<string, Vital>(Vitals);
        var outside = e.Outside.ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in e.Values)
            vitals[name] = (vitals.GetValueOrDefault(name) ?? Vital.Create(name, e.At)).Observe(value, outside.Contains(name), alpha);
        return this with { Vitals = vitals };
    }

    public NodeVitals Apply(DeviationDetected e) => With(e.Vital, v => v.Apply(e));

    public NodeVitals Apply(DeviationResolved e) => With(e.Vital, v => v.Apply(e));

    private NodeVitals With(string name, Func<Vital, Vital> change) =>
        Vitals.TryGetValue(name, out var vital)
            ? this with { Vitals = new Dictionary<string, Vital>(Vitals) { [name] = change(vital) } }
            : this;
}

public static class HomeostasisDecisions
{
    /// <summary>
    /// One sample, decided: the VitalsSampled fact, then a DeviationDetected for each vital whose run outside
    /// has reached RaiseAfter, and a DeviationResolved for each deviating one back inside for ResolveAfter.
    /// </summary>
    public static IReadOnlyList<object> Sample(
        NodeVitals current, DateTimeOffset at, IReadOnlyDictionary<string, double> values, Func<string, Setpoint> setpoints, Tuning tuning)
    {
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
            if ((current.Vitals.GetValueOrDefault(name) ?? Vital.Create(name, at)).Breach(value, setpoints(name), tuning) is { } reason)
                reasons[name] = reason;
        var sampled = new VitalsSampled(current.Node, at, values, reasons.Keys.Order(StringComparer.Ordinal).ToList());
        var next = current.Apply(sampled, tuning.Alpha);

        var events = new List<object> { sampled };
        foreach (var name in values.Keys.Order(StringComparer.Ordinal))
        {
            var vital = next.Vitals[name];
            if (vital.Condition == VitalCondition.Stable && vital.Outside >= tuning.RaiseAfter)
                events.Add(new DeviationDetected(current.Node, name, at, vital.Value, vital.Mean, vital.StdDev, reasons[name]));
            else if (vital.Condition == VitalCondition.Deviating && vital.Inside >= tuning.ResolveAfter)
                events.Add(new DeviationResolved(current.Node, name, at, vital.Value));
        }
        return events;
    }

    public static SetpointChanged ChangeSetpoint(string vital, Setpoint setpoint, DateTimeOffset at) =>
        setpoint.IsValid
            ? new SetpointChanged(vital, setpoint.Min, setpoint.Max, at)
            : throw new DomainRuleViolated("a setpoint's minimum must not exceed its maximum");
}

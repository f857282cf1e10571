using Aetherra.Domain.Homeostasis;
using JasperFx.Events;
using Marten.Events.Projections;

namespace Aetherra.Application.Homeostasis;

public sealed record CorrectionView(DateTimeOffset At, string Vital, string Action, string Target, string Result);

/// <summary>The homeostasis read model of one node: its vitals as folded by the domain, and its latest corrections.</summary>
public sealed class HomeostasisNode
{
    public const int KeptCorrections = 50;

    public string Id { get; set; } = "";
    public DateTimeOffset LastSampledAt { get; set; }
    public Dictionary<string, Vital> Vitals { get; set; } = new(StringComparer.Ordinal);
    public List<CorrectionView> Corrections { get; set; } = [];

    public NodeVitals State() => new(Id, Vitals);
}

/// <summary>Setpoints set through the API (vitals not named here use their configured defaults).</summary>
public sealed class HomeostasisSetpoints
{
    public const string Key = "setpoints";

    public string Id { get; set; } = Key;
    public Dictionary<string, Setpoint> Setpoints { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Inline: the sampler decides on this state in the transaction that appends the sample. The fold is the
/// domain's own; the moving averages use the configured alpha, so a rebuild after changing it re-reads history
/// with the new weight.
/// </summary>
public sealed class HomeostasisProjection : MultiStreamProjection<HomeostasisNode, string>
{
    private readonly double _alpha;

    public HomeostasisProjection(double alpha)
    {
        _alpha = alpha;
        Identity<VitalsSampled>(e => e.Node);
        Identity<DeviationDetected>(e => e.Node);
        Identity<DeviationResolved>(e => e.Node);
        Identity<CorrectionApplied>(e => e.Node);
    }

    public override HomeostasisNode Evolve(HomeostasisNode? snapshot, string id, IEvent e)
    {
        var node = snapshot ?? new HomeostasisNode { Id = id };
        var state = node.State();
        switch (e.Data)
        {
            case VitalsSampled s:
                state = state.Apply(s, _alpha);
                node.LastSampledAt = s.At;
                break;
            case DeviationDetected d:
                state = state.Apply(d);
                break;
            case DeviationResolved r:
                state = state.Apply(r);
                break;
            case CorrectionApplied c:
                node.Corrections.Insert(0, new CorrectionView(c.At, c.Vital, c.Action, c.Target, c.Result));
                if (node.Corrections.Count > HomeostasisNode.KeptCorrections) node.Corrections.RemoveAt(node.Corrections.Count - 1);
                break;
        }
        node.Vitals = new Dictionary<string, Vital>(state.Vitals, StringComparer.Ordinal);
        return node;
    }
}

public sealed class SetpointsProjection : MultiStreamProjection<HomeostasisSetpoints, string>
{
    public SetpointsProjection() => Identity<SetpointChanged>(_ => HomeostasisSetpoints.Key);

    public override HomeostasisSetpoints Evolve(HomeostasisSetpoints? snapshot, string id, IEvent e)
    {
        var setpoints = snapshot ?? new HomeostasisSetpoints { Id = id };
        if (e.Data is SetpointChanged c) setpoints.Setpoints[c.Vital] = new Setpoint(c.Min, c.Max);
        return setpoints;
    }
}

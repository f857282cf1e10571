using Aetherra.Domain.Decisions;
using JasperFx.Events;
using Marten.Events.Aggregation;

namespace Aetherra.Application.Decisions;

/// <summary>
/// A decision's document, folded by the domain's Create/Apply. It keeps the global sequence of the proposal (the
/// queue's order and cursor) and who reviewed it (the events' actor).
/// </summary>
public sealed class DecisionProjection : SingleStreamProjection<Decision, Guid>
{
    public override Decision? Evolve(Decision? snapshot, Guid id, IEvent e) => (snapshot, e.Data) switch
    {
        (null, DecisionProposed p) => Decision.Create(p) with { Sequence = e.Sequence },
        (null, _) => null,
        (_, DecisionAutoApproved a) => snapshot.Apply(a),
        (_, DecisionEscalated x) => snapshot.Apply(x),
        (_, DecisionApproved a) => snapshot.Apply(a, e.UserName),
        (_, DecisionRejected r) => snapshot.Apply(r, e.UserName),
        (_, DecisionOutcomeRecorded o) => snapshot.Apply(o),
        _ => snapshot,
    };
}

/// <summary>The threshold in force for an agent and category, folded from its policy stream.</summary>
public sealed class AutonomyPolicyProjection : SingleStreamProjection<AutonomyPolicy, Guid>
{
    public override AutonomyPolicy? Evolve(AutonomyPolicy? snapshot, Guid id, IEvent e) => (snapshot, e.Data) switch
    {
        (null, AutonomyThresholdAdjusted a) => AutonomyPolicy.Create(a),
        (_, AutonomyThresholdAdjusted a) => snapshot.Apply(a),
        _ => snapshot,
    };
}

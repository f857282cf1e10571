using Aetherra.Domain.Decisions;
using JasperFx.Events;
using Marten.Events.Aggregation;

namespace Aetherra.Application.Decisions;

/// <summary>
/// A decision's document, folded by the domain's Create/Apply. It keeps the global sequence of the proposal (the
/// queue's order and cursor) and who reviewed it (the events' actor).
/// </summary>
public sealed partial class DecisionProjection : SingleStreamProjection<Decision, Guid>
{
    public static Decision Create(IEvent<DecisionProposed> e) => Decision.Create(e.Data) with { Sequence = e.Sequence };
    public static Decision Apply(DecisionAutoApproved e, Decision d) => d.Apply(e);
    public static Decision Apply(DecisionEscalated e, Decision d) => d.Apply(e);
    public static Decision Apply(IEvent<DecisionApproved> e, Decision d) => d.Apply(e.Data, e.UserName);
    public static Decision Apply(IEvent<DecisionRejected> e, Decision d) => d.Apply(e.Data, e.UserName);
    public static Decision Apply(DecisionOutcomeRecorded e, Decision d) => d.Apply(e);
}

/// <summary>The threshold in force for an agent and category, folded from its policy stream.</summary>
public sealed partial class AutonomyPolicyProjection : SingleStreamProjection<AutonomyPolicy, Guid>
{
    public static AutonomyPolicy Create(AutonomyThresholdAdjusted e) => AutonomyPolicy.Create(e);
    public static AutonomyPolicy Apply(AutonomyThresholdAdjusted e, AutonomyPolicy p) => p.Apply(e);
}

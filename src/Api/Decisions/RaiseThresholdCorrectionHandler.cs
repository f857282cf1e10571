using Aetherra.Application.Common;
using Aetherra.Application.Decisions;
using Marten;

namespace Aetherra.Api.Decisions;

/// <summary>The threshold correction's handler: thin, as an endpoint is; the work, its event and its audit are the use case's.</summary>
public static class RaiseThresholdCorrectionHandler
{
    public static Task<RaiseAutonomyThresholdResult> Handle(
        RaiseThresholdCorrection message, IDocumentStore store, AutonomySettings autonomy, TimeProvider clock, CancellationToken ct) =>
        RaiseAutonomyThreshold.Handle(message.Agent, message.Category, message.By, message.Reason,
            new CommandContext(message.Actor, message.Tenant, Guid.CreateVersion7(), DecisionActions.RaiseThreshold), store, autonomy, clock, ct);
}

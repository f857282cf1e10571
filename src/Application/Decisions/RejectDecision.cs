using Aetherra.Application.Common;
using Aetherra.Domain.Decisions;
using Marten;

namespace Aetherra.Application.Decisions;

public static class RejectDecisionHandler
{
    /// <summary>A human stops an escalated decision: it is never carried out, so it never gets an outcome.</summary>
    public static Task<ReviewDecisionResult> Handle(
        Guid id, ReviewNote body, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        ApproveDecisionHandler.ReviewAsync(id, command, store, clock, (current, now) => DecisionRules.Reject(current, body.Note, now), "rejected", ct);
}

using Aetherra.Application.Common;
using Aetherra.Domain.Decisions;
using Marten;

namespace Aetherra.Application.Decisions;

public static class RejectDecisionHandler
{
    /// <summary>A human stops an escalated decision: it is never carried out, so it never gets an outcome.</summary>
    public static Task<ReviewDecisionResult> Handle(
        Guid id, ReviewNote body, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        OnConflict.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var stream = await session.Events.FetchForWriting<Decision>(id, ct);
            var current = stream.Aggregate ?? throw new NotFound("decision");
            var now = clock.GetUtcNow();
            stream.AppendOne(DecisionRules.Reject(current, body.Note, now));
            var sequence = await session.CommitAsync(command, id.ToString(), 200, now, ct);
            return new ReviewDecisionResult(id, "rejected", sequence);
        });
}

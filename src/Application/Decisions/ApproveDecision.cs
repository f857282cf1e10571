using Aetherra.Application.Common;
using Aetherra.Domain.Decisions;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Decisions;

public sealed record ReviewNote(string? Note);

public sealed record ReviewDecisionResult(Guid Id, string Status, long Sequence);

public sealed class ReviewNoteValidator : AbstractValidator<ReviewNote>
{
    public ReviewNoteValidator() => RuleFor(x => x.Note).MaximumLength(DecisionLimits.MaxNoteLength);
}

public static class ApproveDecisionHandler
{
    /// <summary>A human lets an escalated decision go ahead (the key holding decisions:approve is the event's actor).</summary>
    public static Task<ReviewDecisionResult> Handle(
        Guid id, ReviewNote body, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        ReviewAsync(id, command, store, clock, (current, now) => DecisionRules.Approve(current, body.Note, now), "approved", ct);

    /// <summary>A human's review of an escalated decision (approve or reject): one event, retried on a version conflict.</summary>
    internal static Task<ReviewDecisionResult> ReviewAsync(
        Guid id, CommandContext command, IDocumentStore store, TimeProvider clock, Func<Decision, DateTimeOffset, object> decide,
        string status, CancellationToken ct) =>
        ConflictPolicy.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var stream = await session.Events.FetchForWriting<Decision>(id, ct);
            var current = stream.Aggregate ?? throw new NotFound("decision");
            var now = clock.GetUtcNow();
            stream.AppendOne(decide(current, now));
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct);
            return new ReviewDecisionResult(id, status, sequence);
        });
}

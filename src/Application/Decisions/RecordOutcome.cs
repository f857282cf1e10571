using Aetherra.Application.Common;
using Aetherra.Domain.Decisions;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Decisions;

public sealed record RecordOutcome(bool? Success, double? Score, string? Note);

public sealed record RecordOutcomeResult(Guid Id, string Status, double Threshold, long Sequence);

public sealed class RecordOutcomeValidator : AbstractValidator<RecordOutcome>
{
    public RecordOutcomeValidator()
    {
        RuleFor(x => x.Success).NotNull();
        RuleFor(x => x.Score).Must(s => s is null || double.IsFinite(s.Value)).WithMessage("'Score' must be a finite number.");
        RuleFor(x => x.Note).MaximumLength(DecisionLimits.MaxNoteLength);
    }
}

public static class RecordOutcomeHandler
{
    /// <summary>
    /// Records what came of an approved decision and, in the same transaction, lets the threshold rule judge the
    /// agent and category's latest resolved decisions: a move is an AutonomyThresholdAdjusted on the policy stream.
    /// </summary>
    public static Task<RecordOutcomeResult> Handle(
        Guid id, RecordOutcome body, CommandContext command, IDocumentStore store, AutonomySettings settings, TimeProvider clock,
        CancellationToken ct) =>
        ConflictPolicy.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var decision = await session.LoadAsync<Decision>(id, ct) ?? throw new NotFound("decision");
            var policyId = AutonomyPolicy.IdFor(decision.Agent, decision.Category);
            await AutonomyPolicies.LockAsync(session, command.Tenant, policyId, ct);

            var stream = await session.Events.FetchForWriting<Decision>(id, ct);
            var current = stream.Aggregate ?? throw new NotFound("decision");
            var now = clock.GetUtcNow();
            var outcome = DecisionRules.RecordOutcome(current, body.Success!.Value, body.Score, body.Note, now);
            stream.AppendOne(outcome);

            var policy = await session.Events.FetchForWriting<AutonomyPolicy>(policyId, ct);
            var threshold = policy.Aggregate?.Threshold ?? settings.Threshold.Initial;
            var window = await AutonomyPolicies.ResolvedWindowAsync(session, current.Agent, current.Category, settings.Threshold.Window - 1, ct);
            window.Insert(0, new Resolved(current.Confidence, outcome.Success));
            if (ThresholdRule.Evaluate(threshold, window, settings.Threshold) is { } move)
            {
                policy.AppendOne(new AutonomyThresholdAdjusted(policyId, current.Agent, current.Category, move.From, move.To,
                    move.Reason, move.Sample, move.ObservedSuccessRate, now));
                threshold = move.To;
            }
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct);
            return new RecordOutcomeResult(id, "resolved", threshold, sequence);
        });
}

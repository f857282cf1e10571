using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Decisions;
using Aetherra.Domain.Memory;
using FluentValidation;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Decisions;

public sealed record EvidenceInput(Guid? MemoryId, int? Version);

public sealed record ProposeDecision(
    string? Agent, string? Category, string? Action, double? Confidence, string? Rationale, Risk? Risk,
    IReadOnlyList<EvidenceInput>? Evidence, string? Subject);

public sealed record ProposeDecisionResult(Guid Id, string Status, double Threshold, string Reason, long Sequence);

public sealed class ProposeDecisionValidator : AbstractValidator<ProposeDecision>
{
    public ProposeDecisionValidator()
    {
        RuleFor(x => x.Agent).NotEmpty().MaximumLength(DecisionLimits.MaxNameLength);
        RuleFor(x => x.Category).NotEmpty().MaximumLength(DecisionLimits.MaxNameLength);
        RuleFor(x => x.Action).NotEmpty().MaximumLength(DecisionLimits.MaxActionLength);
        RuleFor(x => x.Rationale).NotEmpty().MaximumLength(DecisionLimits.MaxRationaleLength);
        RuleFor(x => x.Confidence).NotNull().InclusiveBetween(0, 1);
        RuleFor(x => x.Risk).NotNull().IsInEnum();
        RuleFor(x => x.Subject).MaximumLength(DecisionLimits.MaxNameLength);
        RuleFor(x => x.Evidence!.Count).LessThanOrEqualTo(DecisionLimits.MaxEvidence).When(x => x.Evidence is not null)
            .OverridePropertyName("evidence");
        RuleForEach(x => x.Evidence).ChildRules(e =>
        {
            e.RuleFor(x => x.MemoryId).NotEmpty();
            e.RuleFor(x => x.Version).NotNull().GreaterThanOrEqualTo(1);
        });
    }
}

public static class ProposeDecisionHandler
{
    /// <summary>
    /// Validates the cited memories (this tenant's, active, and the cited version exists), reinforces each, and
    /// appends the proposal with the governor's verdict under the threshold in force now, all in one transaction.
    /// </summary>
    public static Task<ProposeDecisionResult> Handle(
        ProposeDecision body, CommandContext command, IDocumentStore store, AutonomySettings settings, TimeProvider clock,
        CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        return ConflictPolicy.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var now = clock.GetUtcNow();
            var evidence = (body.Evidence ?? []).Select(e => new EvidenceRef(e.MemoryId!.Value, e.Version!.Value)).Distinct().ToList();
            foreach (var cited in evidence.GroupBy(e => e.MemoryId))
            {
                var memory = await session.Events.FetchForWriting<MemoryState>(cited.Key, ct);
                var current = memory.Aggregate ?? throw new DomainRuleViolated($"evidence memory {cited.Key} was not found");
                var highest = cited.Max(e => e.Version);
                if (highest > current.Version)
                    throw new DomainRuleViolated($"evidence memory {cited.Key} has no version {highest}; it is at version {current.Version}");
                MemoryDecisions.EnsureActive(current, now, "cited");
                memory.AppendOne(MemoryDecisions.Reinforce(current, 1, $"cited by decision {id}", now));
            }

            var policy = await session.LoadAsync<AutonomyPolicy>(AutonomyPolicy.IdFor(body.Agent!, body.Category!), ct);
            var threshold = policy?.Threshold ?? settings.Threshold.Initial;
            var proposed = new DecisionProposed(id, body.Agent!, body.Category!, body.Action!, body.Confidence!.Value,
                body.Rationale!, body.Risk!.Value, evidence, body.Subject, now);
            // A suspended agent's decisions all go to a human (its name unregistered: as before agents existed).
            var suspended = await Agents.AgentStatuses.IsSuspendedAsync(session, body.Agent!, ct);
            var (governed, verdict) = DecisionRules.Propose(proposed, threshold, settings.AllowsHighRisk(body.Category!), suspended);
            session.Events.StartStream<Decision>(id, proposed, governed);
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Created, now, ct);
            return new ProposeDecisionResult(id, verdict.AutoApprove ? "approved" : "escalated", threshold, verdict.Reason, sequence);
        });
    }
}

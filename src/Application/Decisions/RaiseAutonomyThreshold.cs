using Aetherra.Application.Common;
using Aetherra.Domain.Decisions;
using Marten;

namespace Aetherra.Application.Decisions;

public sealed record RaiseAutonomyThresholdResult(string Agent, string Category, double From, double To, bool Moved, long? Sequence);

/// <summary>
/// Makes an agent more careful in one category, outside the threshold rule: for corrections such as homeostasis'
/// (a CommandContext whose actor is "homeostasis"). It appends AutonomyThresholdAdjusted with the reason, as the
/// rule does, under the same policy lock, and records the command in the audit trail. Later outcomes may move the
/// threshold again by the rule.
/// </summary>
public static class RaiseAutonomyThreshold
{
    public static Task<RaiseAutonomyThresholdResult> Handle(
        string agent, string category, double by, string reason, CommandContext command, IDocumentStore store,
        AutonomySettings settings, TimeProvider clock, CancellationToken ct) =>
        ConflictPolicy.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var policyId = AutonomyPolicy.IdFor(agent, category);
            await AutonomyPolicies.LockAsync(session, command.Tenant, policyId, ct);
            var policy = await session.Events.FetchForWriting<AutonomyPolicy>(policyId, ct);
            var from = policy.Aggregate?.Threshold ?? settings.Threshold.Initial;
            var now = clock.GetUtcNow();
            if (AutonomyCorrections.Raise(policyId, agent, category, from, by, reason, now) is not { } raised)
                return new RaiseAutonomyThresholdResult(agent, category, from, from, false, null);
            policy.AppendOne(raised);
            var sequence = await session.CommitAsync(command, policyId.ToString(), Outcome.Done, now, ct);
            return new RaiseAutonomyThresholdResult(agent, category, from, raised.To, true, sequence);
        });
}

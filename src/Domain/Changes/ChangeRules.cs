namespace Aetherra.Domain.Changes;

/// <summary>One gate a change has not passed, named for the 422 answer.</summary>
public readonly record struct MissingGate(string Gate, string Reason);

/// <summary>The code-change decision as the ship gate sees it.</summary>
public readonly record struct DecisionGate(Guid DecisionId, string Category, string? Subject, bool Approved, string How);

/// <summary>Shipping refused: every gate not passed, each with its reason.</summary>
public sealed class GatesMissing(IReadOnlyList<MissingGate> gates)
    : Exception("the change cannot ship: " + string.Join("; ", gates.Select(g => $"{g.Gate}: {g.Reason}")))
{
    public IReadOnlyList<MissingGate> Gates { get; } = gates;
}

/// <summary>The legal moves of a change proposal, and its ship gates. Pure.</summary>
public static class ChangeRules
{
    public const string DecisionCategory = "code-change";
    public static readonly IReadOnlyList<string> RequiredStages = ["test", "security", "review"];

    public static StageRecorded RecordStage(
        Change change, string stage, bool passed, string evidence, string evidenceSha256, string runnerKeyId, string signature,
        DateTimeOffset now)
    {
        if (!RequiredStages.Contains(stage)) throw new DomainRuleViolated($"stage is one of {string.Join(", ", RequiredStages)}");
        if (change.Status != ChangeStatus.Proposed)
            throw new DomainRuleViolated($"a {Lower(change.Status)} change takes no more stage results");
        return new StageRecorded(change.Id, stage, passed, evidence, evidenceSha256, runnerKeyId, signature, now);
    }

    /// <summary>
    /// Every gate the change has not passed: each required stage recorded, passed, not revoked and signed by a key
    /// still trusted; a decision of category code-change about this change (its subject is the change's id),
    /// approved by the governor or by a human. Empty when it may ship.
    /// </summary>
    public static IReadOnlyList<MissingGate> MissingGates(Change change, IReadOnlySet<string> trustedKeys, DecisionGate? decision)
    {
        var missing = new List<MissingGate>();
        if (change.Status != ChangeStatus.Proposed)
            missing.Add(new("status", $"the change is {Lower(change.Status)}"));
        foreach (var stage in RequiredStages)
        {
            var recorded = change.Stages.Where(s => s.Stage == stage).Select(s => (StageResult?)s).FirstOrDefault();
            var reason = recorded switch
            {
                null => "no result recorded",
                { Revoked: true } r => $"its runner key {r.RunnerKeyId} was revoked",
                { } r when !trustedKeys.Contains(r.RunnerKeyId) => $"its runner key {r.RunnerKeyId} is not trusted",
                { Passed: false } => "it did not pass",
                _ => null,
            };
            if (reason is not null) missing.Add(new($"stage:{stage}", reason));
        }
        var decisionReason = decision switch
        {
            null => $"no decision of category {DecisionCategory} with subject {change.Id}",
            { Category: not DecisionCategory } d => $"decision {d.DecisionId} is of category {d.Category}, not {DecisionCategory}",
            { } d when d.Subject != change.Id.ToString() => $"decision {d.DecisionId} is about {d.Subject ?? "nothing"}, not this change",
            { Approved: false } d => $"decision {d.DecisionId} is {d.How}, not approved",
            _ => null,
        };
        if (decisionReason is not null) missing.Add(new("decision", decisionReason));
        return missing;
    }

    public static ChangeShipped Ship(Change change, IReadOnlySet<string> trustedKeys, DecisionGate? decision, string manifest, string signature,
        DateTimeOffset now)
    {
        var missing = MissingGates(change, trustedKeys, decision);
        if (missing.Count > 0) throw new GatesMissing(missing);
        return new ChangeShipped(change.Id, decision!.Value.DecisionId, manifest, signature, now);
    }

    public static ChangeRolledBack RollBack(Change change, string reason, DateTimeOffset now) =>
        change.Status == ChangeStatus.Shipped
            ? new ChangeRolledBack(change.Id, reason, now)
            : throw new DomainRuleViolated($"only a shipped change can be rolled back; this one is {Lower(change.Status)}");

    /// <summary>A runner key was revoked: the stages it signed on a change not yet shipped stop counting.</summary>
    public static IReadOnlyList<StageRevoked> RevokeRunner(Change change, string runnerKeyId, string reason, DateTimeOffset now) =>
        change.Status != ChangeStatus.Proposed
            ? []
            : change.Stages.Where(s => s.RunnerKeyId == runnerKeyId && !s.Revoked)
                .Select(s => new StageRevoked(change.Id, s.Stage, runnerKeyId, reason, now)).ToList();

    public static string Lower(ChangeStatus status) => status switch
    {
        ChangeStatus.RolledBack => "rolled-back",
        _ => status.ToString().ToLowerInvariant(),
    };
}

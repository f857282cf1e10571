namespace Aetherra.Domain.Changes;

public enum ChangeStatus { Proposed, Shipped, RolledBack }

/// <summary>The latest verdict of one stage; <see cref="Revoked"/> when its runner key was revoked since.</summary>
public readonly record struct StageResult(
    string Stage, bool Passed, string EvidenceSha256, string RunnerKeyId, string Signature, DateTimeOffset At, bool Revoked);

/// <summary>A governed change proposal, folded from its stream.</summary>
public sealed record Change(
    Guid Id,
    string Title,
    string Repository,
    string BaseRevision,
    string Patch,
    string PatchSha256,
    string Plan,
    string Agent,
    ChangeStatus Status,
    IReadOnlyList<StageResult> Stages,
    DateTimeOffset ProposedAt,
    Guid? DecisionId,
    string? Manifest,
    string? ManifestSignature,
    DateTimeOffset? ShippedAt,
    string? RollbackReason,
    int Version)
{
    /// <summary>The global sequence of the proposal (set by the projection from the event's metadata).</summary>
    public long Sequence { get; init; }

    /// <summary>Runner keys whose verdicts currently count (for finding the changes a revocation touches).</summary>
    public IReadOnlyList<string> RunnerKeyIds => Stages.Where(s => !s.Revoked).Select(s => s.RunnerKeyId).Distinct().ToList();

    public static Change Create(ChangeProposed e) => new(
        e.ChangeId, e.Title, e.Repository, e.BaseRevision, e.Patch, e.PatchSha256, e.Plan, e.Agent, ChangeStatus.Proposed, [], e.At,
        null, null, null, null, null, 1);

    public Change Apply(StageRecorded e) => this with
    {
        Stages = [.. Stages.Where(s => s.Stage != e.Stage), new StageResult(e.Stage, e.Passed, e.EvidenceSha256, e.RunnerKeyId, e.Signature, e.At, false)],
        Version = Version + 1
    };

    public Change Apply(StageRevoked e) => this with
    {
        Stages = Stages.Select(s => s.Stage == e.Stage && s.RunnerKeyId == e.RunnerKeyId ? s with { Revoked = true } : s).ToList(),
        Version = Version + 1
    };

    public Change Apply(ChangeShipped e) => this with
    {
        Status = ChangeStatus.Shipped, DecisionId = e.DecisionId, Manifest = e.Manifest, ManifestSignature = e.Signature, ShippedAt = e.At,
        Version = Version + 1
    };

    public Change Apply(ChangeRolledBack e) => this with { Status = ChangeStatus.RolledBack, RollbackReason = e.Reason, Version = Version + 1 };
}

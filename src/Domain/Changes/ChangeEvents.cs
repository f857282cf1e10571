namespace Aetherra.Domain.Changes;

/// <summary>An agent proposes a code change: a unified diff against a base revision, with its plan.</summary>
public sealed record ChangeProposed(
    Guid ChangeId, string Title, string Repository, string BaseRevision, string Patch, string PatchSha256, string Plan, string Agent,
    DateTimeOffset At);

/// <summary>
/// A stage runner's signed verdict. <paramref name="Signature"/> is Ed25519 (base64) by the trusted runner key
/// <paramref name="RunnerKeyId"/> over the RFC 8785 canonical JSON of {changeId, patchSha256, stage, passed,
/// evidenceSha256}; verified before this event was appended, and re-verifiable from it.
/// </summary>
public sealed record StageRecorded(
    Guid ChangeId, string Stage, bool Passed, string Evidence, string EvidenceSha256, string RunnerKeyId, string Signature,
    DateTimeOffset At);

/// <summary>The runner key that signed a stage was revoked before the change shipped: the stage no longer counts.</summary>
public sealed record StageRevoked(Guid ChangeId, string Stage, string RunnerKeyId, string Reason, DateTimeOffset At);

/// <summary>
/// The change shipped. <paramref name="Manifest"/> is the RFC 8785 canonical JSON that <paramref name="Signature"/>
/// (Ed25519, base64) signs with the installation's audit key; `aetherra changes verify` checks it offline.
/// </summary>
public sealed record ChangeShipped(Guid ChangeId, Guid DecisionId, string Manifest, string Signature, DateTimeOffset At);

public sealed record ChangeRolledBack(Guid ChangeId, string Reason, DateTimeOffset At);

namespace Aetherra.Domain.Scripts;

/// <summary>
/// A version of a script, accepted: its source exactly as signed, the signature and the publisher key it verified
/// with, and the key it runs as (the key that published it). Every upload is a new version of the script's stream.
/// </summary>
public sealed record ScriptPublished(
    Guid ScriptId, string Name, int Version, string Source, string SourceSha256, string PublisherKeyId, string Signature,
    string RunAs, IReadOnlyList<string> Schedules, IReadOnlyList<string> EventTriggers, int StepBudget, int TimeLimitSeconds,
    DateTimeOffset At);

/// <summary>
/// A script retired by its tenant's administrator: its schedules and event triggers stop and it cannot be run, until a
/// new version is published (which is live again). Runs already started go on to their end.
/// </summary>
public sealed record ScriptRetired(Guid ScriptId, int Version, string RetiredBy, DateTimeOffset At);

/// <summary>A run began: which version, what started it (manual, schedule or an event type) and the key it runs as.</summary>
public sealed record ScriptRunStarted(
    Guid RunId, Guid ScriptId, string Name, int Version, string Trigger, string RunAs, string? Arguments, DateTimeOffset At);

/// <summary>One command of a run: which, where in the source, and its outcome ("ok", or the refusal).</summary>
public sealed record ScriptStepCompleted(
    Guid RunId, int N, string Command, int Line, int Column, string Outcome, int Status, string? Detail, Guid RequestId, DateTimeOffset At);

public sealed record ScriptRunCompleted(Guid RunId, int Steps, string? Output, DateTimeOffset At);

/// <summary>A run that stopped: a refused command, a runtime error, the step budget or the time limit.</summary>
public sealed record ScriptRunFailed(Guid RunId, int Steps, string Reason, bool BudgetExhausted, DateTimeOffset At);

namespace Aetherra.Domain.Scripts;

/// <summary>A script's latest version (the inline state a run starts from and the triggers read).</summary>
public sealed record Script(
    Guid Id, string Name, int Version, string Source, string PublisherKeyId, string Signature, string RunAs,
    IReadOnlyList<string> Schedules, IReadOnlyList<string> EventTriggers, DateTimeOffset PublishedAt, DateTimeOffset? RetiredAt = null)
{
    public static Script Create(ScriptPublished e) =>
        new(e.ScriptId, e.Name, e.Version, e.Source, e.PublisherKeyId, e.Signature, e.RunAs, e.Schedules, e.EventTriggers, e.At);

    /// <summary>A new version is live again, whether or not the one before was retired.</summary>
    public Script Apply(ScriptPublished e) => Create(e);

    public Script Apply(ScriptRetired e) => this with { RetiredAt = e.At };

    public bool Retired => RetiredAt is not null;
}

public enum RunStatus { Running, Completed, Failed }

public sealed record RunStep(int N, string Command, int Line, int Column, string Outcome, int Status, string? Detail, Guid RequestId, DateTimeOffset At);

/// <summary>A run as its stream tells it: started, one step per command, then completed or failed.</summary>
public sealed record ScriptRun(
    Guid Id, Guid ScriptId, string Name, int Version, string Trigger, string RunAs, string? Arguments, RunStatus Status, IReadOnlyList<RunStep> Steps,
    string? Output, string? Error, bool BudgetExhausted, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt)
{
    public static ScriptRun Create(ScriptRunStarted e) =>
        new(e.RunId, e.ScriptId, e.Name, e.Version, e.Trigger, e.RunAs, e.Arguments, RunStatus.Running, [], null, null, false, e.At, null);

    public ScriptRun Apply(ScriptStepCompleted e) =>
        this with { Steps = [.. Steps, new RunStep(e.N, e.Command, e.Line, e.Column, e.Outcome, e.Status, e.Detail, e.RequestId, e.At)] };

    public ScriptRun Apply(ScriptRunCompleted e) => this with { Status = RunStatus.Completed, Output = e.Output, FinishedAt = e.At };

    public ScriptRun Apply(ScriptRunFailed e) =>
        this with { Status = RunStatus.Failed, Error = e.Reason, BudgetExhausted = e.BudgetExhausted, FinishedAt = e.At };
}

public static class ScriptDecisions
{
    /// <summary>The next version of a script (1 for a new one). The checks and the signature were verified before.</summary>
    public static ScriptPublished Publish(
        Script? current, Guid scriptId, string name, ScriptProgram program, string source, string sha256, string keyId, string signature,
        string runAs, DateTimeOffset now) =>
        new(scriptId, name, (current?.Version ?? 0) + 1, source, sha256, keyId, signature, runAs,
            program.Triggers.OfType<OnSchedule>().Select(t => t.Cron).ToList(),
            program.Triggers.OfType<OnEvent>().Select(t => t.EventType).ToList(),
            program.Budget.Steps, program.Budget.Seconds, now);

    /// <summary>Retires the live version; a script that is already retired stays as it is (422).</summary>
    public static ScriptRetired Retire(Script script, string by, DateTimeOffset now) =>
        script.Retired
            ? throw new DomainRuleViolated($"script '{script.Name}' v{script.Version} is already retired; publish a new version to run it again")
            : new ScriptRetired(script.Id, script.Version, by, now);

    /// <summary>A retired script is not run, by hand or by a trigger.</summary>
    public static void EnsureLive(Script script)
    {
        if (script.Retired)
            throw new DomainRuleViolated($"script '{script.Name}' v{script.Version} is retired; publish a new version to run it again");
    }

    /// <summary>Events of the scripts' own runs and of the audit trail never trigger a script: that would loop.</summary>
    public static bool CanTrigger(string eventType) =>
        !eventType.StartsWith("script.", StringComparison.Ordinal) && !eventType.StartsWith("audit.", StringComparison.Ordinal);
}

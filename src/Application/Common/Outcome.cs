namespace Aetherra.Application.Common;

/// <summary>
/// What an accepted command came to, as the use case knows it. Application names no transport status: the Api
/// answers an outcome with one (<c>Api/Http/OutcomeStatus.cs</c>, the only table), and the command's audit record
/// stores that same status.
/// </summary>
public enum Outcome
{
    /// <summary>Something new exists.</summary>
    Created,

    /// <summary>The command took effect on what existed, or found it already done.</summary>
    Done,

    /// <summary>Nothing matched, and nothing changed.</summary>
    Nothing,

    /// <summary>Started, to finish later (a script run).</summary>
    Started,

    /// <summary>The command ran and its refusal is a fact of record (a hub source's refused sync, a script run refused).</summary>
    Refused,

    /// <summary>What the command derives from is gone (a memory extracted from a turn whose subject was forgotten).</summary>
    Gone,

    /// <summary>The command ran, and the service it called answered badly or not at all (a plugin call).</summary>
    UpstreamFailed,

    /// <summary>The command ran, and the service it called did not answer in time.</summary>
    UpstreamTimedOut,

    /// <summary>The caller went away while the command ran; what it did is recorded all the same.</summary>
    Abandoned,

    /// <summary>A fault of ours (logged; the step of a script that met it fails).</summary>
    Failed,

    /// <summary>The store could not be reached: nothing happened, retry shortly.</summary>
    Unavailable,
}

public static class Outcomes
{
    private static Func<Outcome, int>? _status;
    private static Func<Exception, int?>? _refusal;

    /// <summary>The status an outcome is answered with, hence the one its audit record stores.</summary>
    public static int StatusOf(Outcome outcome) => (_status ?? throw Unset()).Invoke(outcome);

    /// <summary>The status a command refused with this exception is answered with; null for a fault of ours.</summary>
    public static int? RefusalOf(Exception exception) => (_refusal ?? throw Unset()).Invoke(exception);

    /// <summary>Set once by the host, which owns both tables.</summary>
    public static void AnswerWith(Func<Outcome, int> status, Func<Exception, int?> refusal)
    {
        _status = status;
        _refusal = refusal;
    }

    private static InvalidOperationException Unset() => new("the host gave no status tables for outcomes");
}

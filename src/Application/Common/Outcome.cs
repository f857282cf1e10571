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
}

public static class Outcomes
{
    private static Func<Outcome, int>? _status;

    /// <summary>The status an outcome is answered with, hence the one its audit record stores.</summary>
    public static int StatusOf(Outcome outcome) =>
        (_status ?? throw new InvalidOperationException("the host gave no status table for outcomes")).Invoke(outcome);

    /// <summary>Set once by the host, which owns the table.</summary>
    public static void AnswerWith(Func<Outcome, int> status) => _status = status;
}

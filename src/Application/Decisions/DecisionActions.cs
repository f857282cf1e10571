namespace Aetherra.Application.Decisions;

/// <summary>Audit action names of the decision commands (also the endpoints' operation ids).</summary>
public static class DecisionActions
{
    public const string Propose = "decision.propose";
    public const string Approve = "decision.approve";
    public const string Reject = "decision.reject";
    public const string Outcome = "decision.outcome";
    public const string RaiseThreshold = "autonomy.raise-threshold";
}

public static class DecisionLimits
{
    public const int MaxNameLength = 200;
    public const int MaxActionLength = 2_000;
    public const int MaxRationaleLength = 8_000;
    public const int MaxNoteLength = 2_000;
    public const int MaxEvidence = 50;
    public const int MaxPage = 200;
    public const int DefaultPage = 50;
}

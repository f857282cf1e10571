using JasperFx;
using Marten.Exceptions;

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

/// <summary>
/// Commands whose state another command may change between their read and their commit (a cited memory, a
/// decision, a policy stream) run again on a version conflict: they re-read and decide again, so no update is lost
/// and none is applied to stale state.
/// </summary>
public static class OnConflict
{
    public const int Attempts = 5;

    public static async Task<T> RetryAsync<T>(Func<Task<T>> command)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await command();
            }
            catch (Exception e) when (attempt < Attempts && e is ConcurrencyException or ExistingStreamIdCollisionException
                                                                    or JasperFx.Events.EventStreamUnexpectedMaxEventIdException)
            {
            }
        }
    }
}

using System.Globalization;

namespace Aetherra.Domain.Decisions;

/// <summary>The governor's answer (a value, not an event: the event is DecisionAutoApproved or DecisionEscalated).</summary>
public readonly record struct Verdict(bool AutoApprove, string Reason);

/// <summary>
/// Whether a proposal may go ahead on its own. Never for a suspended agent. Low and medium risk: when the stated
/// confidence reaches the threshold of its agent and category. High risk: never, unless the policy allows high risk
/// for that category.
/// </summary>
public static class Governor
{
    public static Verdict Judge(double confidence, Risk risk, double threshold, bool highRiskAllowed, bool agentSuspended = false)
    {
        if (agentSuspended)
            return new Verdict(false, "the agent is suspended: every decision of it escalates");
        if (risk == Risk.High && !highRiskAllowed)
            return new Verdict(false, "high risk always escalates");
        return confidence >= threshold
            ? new Verdict(true, $"confidence {F(confidence)} reached the threshold {F(threshold)}")
            : new Verdict(false, $"confidence {F(confidence)} is below the threshold {F(threshold)}");
    }

    internal static string F(double x) => x.ToString("0.00##", CultureInfo.InvariantCulture);
}

namespace Aetherra.Application.Homeostasis;

/// <summary>The vitals a node samples (docs/operations.md, "Homeostasis", says what each measures).</summary>
public static class Vitals
{
    public const string RecallLatency = "recall.latency.p95";
    public const string WriteLatency = "write.latency.p95";
    public const string ErrorRate = "http.error-rate";
    public const string AppendRate = "events.append-rate";
    public const string DatabaseSize = "database.size";
    public const string Connections = "database.connections";
    public const string LargestSubject = "memory.subject.largest";
    public const string PluginFailureRate = "plugins.failure-rate";
    public const string EscalationRate = "decisions.escalation-rate";
    public const string AutoApprovedFailureRate = "decisions.auto-approved-failure-rate";
    public const string ProjectionLagPrefix = "projection.lag.";
    public const string DeadLetters = "projection.dead-letters";
    public const string AiFailureRate = "ai.failure-rate";

    public static string ProjectionLag(string projection) => ProjectionLagPrefix + projection;

    public static bool IsKnown(string vital, IEnumerable<string> asyncProjections) =>
        vital is RecallLatency or WriteLatency or ErrorRate or AppendRate or DatabaseSize or Connections or LargestSubject
            or PluginFailureRate or EscalationRate or AutoApprovedFailureRate or DeadLetters or AiFailureRate
        || asyncProjections.Any(p => vital == ProjectionLag(p));
}

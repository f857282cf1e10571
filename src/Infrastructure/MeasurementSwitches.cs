namespace Aetherra.Infrastructure;

/// <summary>
/// The environment switches that bring an older write path back, or stop a part of the process, so that a benchmark
/// can compare both in one build (docs/benchmarks.md; docs/operations.md lists them). None is for service. Read once,
/// at start-up, by the code whose behaviour they select.
/// </summary>
public static class MeasurementSwitches
{
    /// <summary>AETHERRA_CLAIM_WRITES=session: a task claim writes through a Marten session (five round trips), not its own rows.</summary>
    public static readonly bool ClaimThroughSession = Is("AETHERRA_CLAIM_WRITES", "session");

    /// <summary>AETHERRA_WRITE_CONNECTION=lazy: a memory write checks out a connection per step instead of one for the whole write.</summary>
    public static readonly bool LazyWriteConnection = Is("AETHERRA_WRITE_CONNECTION", "lazy");

    /// <summary>AETHERRA_KEY_PROOF=row: a cached subject key is proved under FOR KEY SHARE on its row, not the shared advisory lock.</summary>
    public static readonly bool RowLockKeyProof = Is("AETHERRA_KEY_PROOF", "row");

    /// <summary>AETHERRA_DAEMON_POLL_MS: the async daemon's fast polling interval (1-10,000 ms; default 100).</summary>
    public static readonly int DaemonPollMs =
        int.TryParse(Environment.GetEnvironmentVariable("AETHERRA_DAEMON_POLL_MS"), out var ms) && ms is > 0 and <= 10_000 ? ms : 100;

    /// <summary>AETHERRA_AUDIT_LOG_EVENTS=load: the daemon loads and deserialises every event for the Merkle log, which uses only the page's ceiling.</summary>
    public static readonly bool AuditLogLoadsEvents = Is("AETHERRA_AUDIT_LOG_EVENTS", "load");

    /// <summary>AETHERRA_SCRIPT_TRIGGERS=every-event: the script triggers get every event deserialised and read each tenant's scripts per page.</summary>
    public static readonly bool ScriptTriggersReadEveryEvent = Is("AETHERRA_SCRIPT_TRIGGERS", "every-event");

    /// <summary>AETHERRA_PROJECTION_EVENT_FILTERS=off: SelfModel and LearningLoop get every event of the store loaded, not only theirs.</summary>
    public static readonly bool ProjectionsReadEveryEvent = Is("AETHERRA_PROJECTION_EVENT_FILTERS", "off");

    private static bool Is(string variable, string value) =>
        string.Equals(Environment.GetEnvironmentVariable(variable), value, StringComparison.OrdinalIgnoreCase);
}

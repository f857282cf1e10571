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

    /// <summary>
    /// AETHERRA_CLAIM=before: the task queue as before the claim's trim (issue 17): the TaskQueue table's priority
    /// and agent indexes over every row (a claim writes an entry in each), and the queue query reading the
    /// agent's standing twice.
    /// </summary>
    public static readonly bool ClaimBefore = Is("AETHERRA_CLAIM", "before");

    /// <summary>
    /// AETHERRA_CLAIM_CONNECTIONS=shared: a task claim takes its connection from Marten's pool (reset by Npgsql before its
    /// next use, seven statements), not from the claim's own pool of connections returned without a reset
    /// (Infrastructure.Database.ClaimConnections).
    /// </summary>
    public static readonly bool ClaimSharedConnections = Is("AETHERRA_CLAIM_CONNECTIONS", "shared");

    /// <summary>
    /// AETHERRA_CLAIM_STATUS_INDEX=all: the TaskQueue table's status index over every task, as before, instead of over
    /// every task but the claimed ones (which let the expired-lease walk read every claimed task on stale statistics).
    /// </summary>
    public static readonly bool ClaimStatusIndexAll = Is("AETHERRA_CLAIM_STATUS_INDEX", "all");

    /// <summary>
    /// AETHERRA_CLAIM_PLANS=custom: the claim's pool leaves PostgreSQL to choose between custom and generic plans for the
    /// claim's prepared statements (it planned the queue query at almost every claim), instead of forcing generic plans.
    /// </summary>
    public static readonly bool ClaimCustomPlans = Is("AETHERRA_CLAIM_PLANS", "custom");

    /// <summary>
    /// AETHERRA_CLAIM_BATCH=off: every task claim runs its own transaction (the per-claim path), instead of the claims of a
    /// tenant that arrive while one of its claim transactions is in flight being taken together into the next one
    /// (Application.Tasks.ClaimBatch: one queue query, one batch of writes and one commit for all of them).
    /// </summary>
    public static readonly bool ClaimOneByOne = Is("AETHERRA_CLAIM_BATCH", "off");

    /// <summary>
    /// AETHERRA_WRITE_BATCH=off: every single memory write (POST /memories) runs its own transaction, instead of the writes
    /// of a tenant that arrive while one of its write transactions is in flight being taken together into the next one
    /// (Application.Memory.MemoryWriteBatch: one dedup query, one Marten batch and one commit for all of them).
    /// </summary>
    public static readonly bool WriteOneByOne = Is("AETHERRA_WRITE_BATCH", "off");

    /// <summary>
    /// AETHERRA_CLAIM_BATCH_FLIGHTS: the claim transactions of one tenant in flight at once when claims are taken together
    /// (1-8; default 1): claims that arrive while that many run wait for the next.
    /// </summary>
    public static readonly int ClaimBatchFlights =
        int.TryParse(Environment.GetEnvironmentVariable("AETHERRA_CLAIM_BATCH_FLIGHTS"), out var flights) && flights is >= 1 and <= 8 ? flights : 1;

    /// <summary>
    /// AETHERRA_CLAIM_NOT_BEFORE_INDEX=dropped: the TaskQueue table's duplicated not_before column without Marten's index
    /// (no query needs it: the claim filters on the column while walking the ready index; each claim writes an entry in
    /// it). Not the default: without it the queue query's generic plan walks the ready index past every dead entry a
    /// long-running snapshot elsewhere keeps unremoved (TaskQueuePlanTests failed under other test classes' load), where
    /// with it PostgreSQL may take a bitmap of both indexes instead.
    /// </summary>
    public static readonly bool ClaimNotBeforeIndexDropped = Is("AETHERRA_CLAIM_NOT_BEFORE_INDEX", "dropped");

    /// <summary>AETHERRA_WRITE_CONNECTION=lazy: a memory write checks out a connection per step instead of one for the whole write.</summary>
    public static readonly bool LazyWriteConnection = Is("AETHERRA_WRITE_CONNECTION", "lazy");

    /// <summary>AETHERRA_KEY_PROOF=row: a cached subject key is proved under FOR KEY SHARE on its row, not the shared advisory lock.</summary>
    public static readonly bool RowLockKeyProof = Is("AETHERRA_KEY_PROOF", "row");

    /// <summary>AETHERRA_DAEMON_POLL_MS: the async daemon's fast polling interval (1-10,000 ms; default 100).</summary>
    public static readonly int DaemonPollMs =
        int.TryParse(Environment.GetEnvironmentVariable("AETHERRA_DAEMON_POLL_MS"), out var ms) && ms is > 0 and <= 10_000 ? ms : 100;

    /// <summary>
    /// AETHERRA_RECALL_EMBED=serial: a hybrid recall embeds its query first and runs its full-text statement after, instead
    /// of running the statement while the query is embedded.
    /// </summary>
    public static readonly bool SerialRecallEmbedding = Is("AETHERRA_RECALL_EMBED", "serial");

    /// <summary>
    /// AETHERRA_RECALL_SCORING=unnest: recall's BM25 unnests every lexeme of each matching entry, instead of only the
    /// query's lexemes, and reads the candidates' rows back by key instead of by their place in the table.
    /// </summary>
    public static readonly bool UnnestRecallScoring = Is("AETHERRA_RECALL_SCORING", "unnest");

    /// <summary>
    /// AETHERRA_REPLY_RECALL=after-lock: a reply recalls once the conversation's stream is locked, also when this process
    /// already knows the conversation's subject (instead of recalling beside the lock's round trip).
    /// </summary>
    public static readonly bool ReplyRecallAfterLock = Is("AETHERRA_REPLY_RECALL", "after-lock");

    /// <summary>
    /// AETHERRA_RECALL_WRITES=rows: the recall projection as before issue 23's bulk work: every event of the log is loaded
    /// (not only the memory events it handles), its SQL computes a text vector once per use, and a full rebuild keeps
    /// the full-text indexes up to date row by row instead of building them once at its end.
    /// </summary>
    public static readonly bool RecallRowWrites = Is("AETHERRA_RECALL_WRITES", "rows");

    /// <summary>
    /// AETHERRA_RECALL_REBUILD=current: a full RecallEntry rebuild as before issue 23's third item: its tables keep the
    /// dead rows of Marten's teardown (no truncation), and its end builds both full-text indexes and counts the
    /// statistics one after the other in one transaction with PostgreSQL's default memory settings.
    /// </summary>
    public static readonly bool RecallRebuildCurrent = Is("AETHERRA_RECALL_REBUILD", "current");

    /// <summary>
    /// AETHERRA_RECALL_TERMS_KEY=kept: a full RecallEntry rebuild keeps the term statistics' primary key while it counts
    /// them at its end (each of the count's rows descends it), instead of dropping it with the full-text indexes and
    /// adding it once the rows are in.
    /// </summary>
    public static readonly bool RecallTermsKeyKept = Is("AETHERRA_RECALL_TERMS_KEY", "kept");

    /// <summary>
    /// AETHERRA_RECALL_REBUILD_ORDER=events: a full RecallEntry rebuild inserts each page's recordings in the events'
    /// order, instead of grouped by tenant and subject (which keeps the scoped full-text index's build in the cache).
    /// </summary>
    public static readonly bool RecallRebuildEventOrder = Is("AETHERRA_RECALL_REBUILD_ORDER", "events");

    /// <summary>
    /// AETHERRA_RECALL_REBUILD_PAGE: the events per daemon page during a full RecallEntry rebuild (500-50,000; default
    /// 10,000; 2,000 as before issue 23's bulk writes). Each page is a transaction with its own load, progress, state rows
    /// and commit around the one insert of its recordings.
    /// </summary>
    public static readonly int RecallRebuildPage =
        int.TryParse(Environment.GetEnvironmentVariable("AETHERRA_RECALL_REBUILD_PAGE"), out var page) && page is >= 500 and <= 50_000 ? page : 10_000;

    /// <summary>
    /// AETHERRA_RECALL_REPLAY=daemon: a full RecallEntry rebuild replays the log through Marten's daemon (load a page, apply,
    /// commit, then load the next), instead of through RecallEntry's own replay, which loads and deserialises the next page
    /// while the current one is inserted (the shard stopped meanwhile, progress committed with each page).
    /// </summary>
    public static readonly bool RecallReplayByDaemon = Is("AETHERRA_RECALL_REPLAY", "daemon");

    /// <summary>
    /// AETHERRA_RECALL_REPLAY_TEARDOWN=delete: RecallEntry's own replay leaves the emptying of its tables to Marten's teardown
    /// (a delete of every old row), instead of truncating them first.
    /// </summary>
    public static readonly bool RecallReplayTeardownDeletes = Is("AETHERRA_RECALL_REPLAY_TEARDOWN", "delete");

    /// <summary>
    /// AETHERRA_RECALL_REPLAY_WRITERS=1: RecallEntry's own replay writes its pages one after the other, instead of a page of
    /// recordings beside the next (two transactions at once, committed in order).
    /// </summary>
    public static readonly int RecallReplayWriters = Environment.GetEnvironmentVariable("AETHERRA_RECALL_REPLAY_WRITERS") == "1" ? 1 : 2;

    /// <summary>AETHERRA_EMBED_TOKENIZER=locked: the embedder tokenizes a batch on one thread with one shared tokenizer, as before issue 23.</summary>
    public static readonly bool LockedTokenizer = Is("AETHERRA_EMBED_TOKENIZER", "locked");

    /// <summary>AETHERRA_AUDIT_LOG_EVENTS=load: the daemon loads and deserialises every event for the Merkle log, which uses only the page's ceiling.</summary>
    public static readonly bool AuditLogLoadsEvents = Is("AETHERRA_AUDIT_LOG_EVENTS", "load");

    /// <summary>AETHERRA_SCRIPT_TRIGGERS=every-event: the script triggers get every event deserialised and read each tenant's scripts per page.</summary>
    public static readonly bool ScriptTriggersReadEveryEvent = Is("AETHERRA_SCRIPT_TRIGGERS", "every-event");

    /// <summary>AETHERRA_PROJECTION_EVENT_FILTERS=off: SelfModel and LearningLoop get every event of the store loaded, not only theirs.</summary>
    public static readonly bool ProjectionsReadEveryEvent = Is("AETHERRA_PROJECTION_EVENT_FILTERS", "off");

    /// <summary>AETHERRA_DEDUP_QUERY=linq: a memory write asks for known content through Marten's LINQ (parsed per write), not plain SQL.</summary>
    public static readonly bool LinqDedupQuery = Is("AETHERRA_DEDUP_QUERY", "linq");

    /// <summary>AETHERRA_LOG_WRITES=inline: log lines are written to the console on the thread that logs them, not by a writer thread.</summary>
    public static readonly bool InlineLogWrites = Is("AETHERRA_LOG_WRITES", "inline");

    /// <summary>
    /// AETHERRA_EMBED_NICE: the OS nice (0-19; default 10) of the dedicated threads on which the recall projection tokenizes
    /// and embeds its batches, so that requests (nice 0) take the cores first (issue 22). 0 brings back the old behaviour:
    /// the batch's model calls run on the caller's and the thread pool's threads, at the requests' priority. A query's
    /// embedding (the recall request's own) is never demoted.
    /// </summary>
    public static readonly int EmbedNice =
        int.TryParse(Environment.GetEnvironmentVariable("AETHERRA_EMBED_NICE"), out var nice) && nice is >= 0 and <= 19 ? nice : 10;

    /// <summary>
    /// AETHERRA_EMBED_PRECISION=fp32: the embedding model runs with its float weights, in calls of up to 32 texts, instead of
    /// with its weight matrices quantized to int8 as it loads, one text per call (issue 23's catch-up; <see cref="Embeddings.Int8Quantizer"/>).
    /// Vectors of the two differ slightly (cosine about 0.99): rebuild RecallEntry after changing it (docs/recall.md).
    /// </summary>
    public static readonly bool EmbedFp32 = Is("AETHERRA_EMBED_PRECISION", "fp32");

    /// <summary>
    /// AETHERRA_LOG_FLUSH=line: every log line is written to a redirected console with a system call of its own (Serilog's
    /// console sink), instead of in batches by the background writer (Logging.BufferedConsoleSink).
    /// </summary>
    public static readonly bool LineFlushedLogs = Is("AETHERRA_LOG_FLUSH", "line");

    /// <summary>
    /// AETHERRA_AUTH_LOGGER=per-request: the API key authentication handler (made per request) asks the logger factory for
    /// its logger on every request, as before, instead of taking one made once (Serilog's factory makes a new one per call).
    /// </summary>
    public static readonly bool PerRequestAuthLogger = Is("AETHERRA_AUTH_LOGGER", "per-request");

    private static bool Is(string variable, string value) =>
        string.Equals(Environment.GetEnvironmentVariable(variable), value, StringComparison.OrdinalIgnoreCase);
}

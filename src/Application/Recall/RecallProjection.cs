using Aetherra.Domain.Memory;
using Aetherra.Infrastructure;
using Aetherra.Application.Common;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.Embeddings;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Recall;

/// <summary>
/// Builds RecallEntry (see <see cref="RecallSchema"/>) from the memory events, asynchronously: it opens the
/// content with the subject's key while the key exists, and embeds every new text of a daemon batch in one
/// model call, off the write path. Rows change only through SQL queued on the daemon's session, so they
/// commit atomically with the projection's progress.
/// </summary>
public sealed partial class RecallProjection(
    NpgsqlDataSource dataSource, SubjectKeyStore keys, TextEmbedder embedder, AetherraSettings settings,
    ILogger<RecallProjection> log, RecallPages pages) : IProjection, Operations.IBulkRebuild
{
    public const string Name = "RecallEntry";

    string Operations.IBulkRebuild.Name => Name;

    /// <summary>
    /// True during a full rebuild: the BM25 statistics (terms and subjects) are not counted in and out batch by
    /// batch (most of a rebuild's database time) but computed once from the rebuilt rows at the end
    /// (<see cref="CountAllAsync"/>). Each deferred batch leaves a marker row (id 2) in the state table, so a
    /// process that dies mid-rebuild has its statistics counted by the first batch after it starts again.
    /// </summary>
    private volatile bool deferred;

    private const int DeferredMarker = 2;

    /// <summary>Set by <see cref="BeginRebuild"/>: the first deferred batch drops the full-text indexes.</summary>
    private volatile bool dropIndexes;

    /// <summary>
    /// True from the drop of the term statistics' primary key (the first deferred batch) until an end of the rebuild added
    /// it again (<see cref="FinishAsync"/>).
    /// </summary>
    private volatile bool termsKeyDropped;

    public void BeginRebuild()
    {
        dropIndexes = true;
        deferred = true;
        pages.BeginRebuild();
    }

    private readonly PlannerStatistics planner = new(settings.RecallAnalyzeRows);

    /// <summary>When the last page's embedding ended (a Stopwatch timestamp; 0 before the first).</summary>
    private long lastEmbedded;

    /// <summary>
    /// Ends a full rebuild: counts the statistics of every current row in one pass, under locks that make the
    /// daemon's batches wait (those written while deferred are counted here, those after count themselves in).
    /// </summary>
    public async Task EndRebuildAsync(CancellationToken ct)
    {
        deferred = false;
        pages.EndRebuild();
        // The home database's: full rebuilds run there only (docs/scaling.md). A group database's batches written
        // meanwhile left their marker, and its next batch counts its statistics.
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await FinishAsync(connection, RecallSchema.Names.In(AetherraSettings.Schema), ct);
    }

    /// <summary>
    /// Ends an analysis copy: counts its statistics, then erases every subject forgotten while the rebuild ran
    /// (its plaintext may have been opened before the key went).
    /// </summary>
    public async Task EndAnalysisCopyAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        await FinishAsync(connection, RecallSchema.Names.In(schema), ct);
        await RecallSchema.EraseKeylessSubjectsAsync(connection, schema, ct);
    }

    private static string Insert(RecallSchema.Names n) => $"""
        insert into {n.Entries} (tenant_id, memory_id, version, subject, agent, session, kind, tags, importance,
            classification, occurred_at, recorded_at, expires_at, valid_from, content, tsv, tsv_scoped, doc_len,
            embedding, reinforced_at, reinforced_weight, changed_seq, metadata, recorded_seq)
        """;

    /// <summary>
    /// The event types <see cref="ApplyAsync"/> acts on: the daemon loads no others for it, so a type given a case in
    /// ApplyAsync must be listed here too, or it never arrives (AETHERRA_RECALL_WRITES=rows loads every type).
    /// </summary>
    public static readonly Type[] HandledTypes =
    [
        typeof(MemoryRecorded), typeof(MemoryRevised), typeof(MemoryForgotten), typeof(MemorySuperseded), typeof(MemoryReinforced),
        typeof(Domain.Recall.MemoryArchived), typeof(MemoriesConsolidated), typeof(SubjectForgotten),
    ];

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken ct) =>
        // The shard is stopped while this projection replays the log itself (ReplayAsync); a daemon batch that runs anyway
        // (the shard restarted under the replay) writes nothing beside it: it fails (not as an event it refuses, which
        // would dead-letter the event), and the shard is started afresh from the replay's progress when the replay ends.
        replaying
            ? throw new InvalidOperationException($"{Name} is being replayed by its rebuild: the daemon's batch is not applied")
            : ApplyPageAsync(operations, events, ct);

    /// <param name="opened">The page's contents already opened (RecallEntry's own replay opens them ahead, with the load);
    /// null opens them here.</param>
    private async Task ApplyPageAsync(
        IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken ct, Dictionary<IEvent, string>? opened = null)
    {
        if (events.Count == 0) return;
        // The live schema, or an analysis rebuild's (a store of its own over a copy of the log).
        var n = RecallSchema.Names.In(operations.DocumentStore.Options.DatabaseSchemaName);
        operations.QueueSqlCommand($"insert into {n.State} (id, epoch) values (1, ?) on conflict (id) do nothing", Guid.NewGuid());
        var defer = deferred;
        if (defer)
        {
            operations.QueueSqlCommand($"insert into {n.State} (id, epoch) values ({DeferredMarker}, ?) on conflict (id) do nothing", Guid.NewGuid());
            // The full-text indexes are built once at the end (CountAllAsync), not kept up to date row by row. Dropped by the
            // first batch, on a connection of its own (Marten queues one statement at a time, no DDL block): a batch that
            // fails after it leaves them dropped, and the end (or, if the process dies, start-up's schema check) builds
            // them again. Recall answers meanwhile by scanning, as it answers from a partial read model anyway.
            if (dropIndexes && !MeasurementSwitches.RecallRowWrites)
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                await using var drop = new NpgsqlBatch(connection);
                foreach (var sql in RecallSchema.DropTextIndexesSql(n)) drop.BatchCommands.Add(new(sql));
                if (!MeasurementSwitches.RecallRebuildCurrent)
                {
                    drop.BatchCommands.Add(new(RecallSchema.DropTermsLexemeIndexSql(n)));
                    if (!MeasurementSwitches.RecallTermsKeyKept)
                    {
                        // Set first: a batch after a failed end adds it again if it is still missing.
                        termsKeyDropped = true;
                        drop.BatchCommands.Add(new(RecallSchema.DropTermsKeySql(n)));
                    }
                    drop.BatchCommands.Add(new(TruncateIfEmptySql(n)));
                }
                await drop.ExecuteNonQueryAsync(ct);
                dropIndexes = false;
            }
        }
        else
        {
            // A rebuild in this process dropped the term statistics' key and its end did not add it back (it failed): the
            // upserts below need it, so it is added first, on a connection of its own like the drop (Marten queues one
            // statement at a time, no DDL block). A process that dies mid-rebuild has it added by start-up's schema check.
            if (termsKeyDropped)
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                await using var add = new NpgsqlCommand(RecallSchema.CreateTermsKeySql(n), connection) { CommandTimeout = 0 };
                await add.ExecuteNonQueryAsync(ct);
                termsKeyDropped = false;
            }
            // A rebuild that did not reach its end (the process died, or a deferred batch committed after the end
            // counted): its statistics are counted now, in this batch. Without a marker these statements do nothing.
            foreach (var sql in CountAllSql(n, $"exists (select 1 from {n.State} where id = {DeferredMarker})"))
                operations.QueueSqlCommand(sql);
        }

        var texts = opened ?? await OpenContentAsync(events, ct);
        // Text PostgreSQL cannot store would fail the daemon's whole batch at commit and stop recall for every
        // tenant: the one event is refused here instead, and the daemon dead-letters it and carries on.
        if (texts.Where(t => !StorableText.IsStorable(t.Value)).Select(t => t.Key).MinBy(e => e.Sequence) is { } poison)
            throw new ProjectionRefusedEvent(poison, "its content holds a NUL or an unpaired surrogate, which PostgreSQL cannot store");
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (modelBefore, callsBefore) = (embedder.ModelTime, embedder.ModelCalls);
        var vectors = settings.Embeddings && texts.Count > 0
            ? await embedder.EmbedManyAsync(texts.Values.ToList(), ct)
            : [];
        if (vectors.Length > 0)
        {
            var ended = System.Diagnostics.Stopwatch.GetTimestamp();
            Infrastructure.Telemetry.AetherraMetrics.Embedded.Add(vectors.Length);
            Infrastructure.Telemetry.AetherraMetrics.EmbeddingDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started, ended).TotalMilliseconds);
            // The embedder's idle time per page: from the end of the previous page's embedding to the start of this one (the
            // previous page's SQL and commit, this page's loading and decryption), beside this page's embedding and the time
            // its threads spent inside the model (summed over the cores).
            var previous = Interlocked.Exchange(ref lastEmbedded, ended);
            if (log.IsEnabled(LogLevel.Debug))
                log.LogDebug(
                    "RecallEntry page of {Events} events: {Texts} texts embedded in {EmbedMs:F0} ms (model {ModelMs:F0} ms in {Calls} calls over {Cores} threads), embedder idle {IdleMs:F0} ms before it; model time since the start {ModelTotalMs:F0} ms",
                    events.Count, vectors.Length, System.Diagnostics.Stopwatch.GetElapsedTime(started, ended).TotalMilliseconds,
                    (embedder.ModelTime - modelBefore).TotalMilliseconds, embedder.ModelCalls - callsBefore, TextEmbedder.Parallelism,
                    previous == 0 ? -1 : System.Diagnostics.Stopwatch.GetElapsedTime(previous, started).TotalMilliseconds,
                    embedder.ModelTime.TotalMilliseconds);
        }
        var vectorOf = texts.Keys.Select((e, i) => (e, i)).ToDictionary(x => x.e, x => vectors.Length > 0 ? TextEmbedder.ToBytes(vectors[x.i]) : null);

        // Consecutive recordings (a batch import, a catch-up, a rebuild) are written as one statement per table,
        // not three per memory; anything else flushes them first, so the rows change in the events' order.
        var recorded = new List<IEvent>();
        var inserted = events.Count(e => e.Data is MemoryRecorded or MemoryRevised);
        foreach (var e in events)
        {
            var tenant = e.TenantId;
            if (e.Data is MemoryRecorded)
            {
                recorded.Add(e);
                continue;
            }
            InsertRecorded(operations, n, recorded, texts, vectorOf, defer);
            switch (e.Data)
            {
                case MemoryRevised v:
                    End(operations, n, tenant, v.MemoryId, e, "revised", defer);
                    operations.QueueSqlCommand($"""
                        {Insert(n)}
                        select p.tenant_id, p.memory_id, i.version, p.subject, p.agent, p.session, p.kind, p.tags, p.importance,
                            p.classification, p.occurred_at, p.recorded_at, p.expires_at, i.valid_from, i.content, v.tsv,
                            {Scoped("v.tsv", "p.tenant_id", "p.subject")}, {RecallSchema.LengthSql("v.tsv")},
                            i.embedding, p.reinforced_at, p.reinforced_weight, i.changed_seq, p.metadata, p.recorded_seq
                        from (select ?::int as version, ?::timestamptz as valid_from, ?::text as content, ?::bytea as embedding,
                            ?::bigint as changed_seq) i,
                            lateral (select * from {n.Entries} where tenant_id = ? and memory_id = ? and version < i.version
                                     order by version desc limit 1) p,
                            {TextVectors("i.content", "p.tenant_id", "p.subject")} v
                        on conflict do nothing
                        """,
                        (int)e.Version, e.Timestamp, Text(texts, e)!, Vector(vectorOf, e)!, e.Sequence, tenant, v.MemoryId);
                    if (!defer) CountIn(operations, n, tenant, v.MemoryId, (int)e.Version);
                    break;

                case MemoryForgotten f:
                    End(operations, n, tenant, f.MemoryId, e, "forgotten", defer);
                    break;

                case MemorySuperseded s:
                    End(operations, n, tenant, s.MemoryId, e, "superseded", defer);
                    break;

                case MemoryReinforced r:
                    operations.QueueSqlCommand($"""
                        update {n.Entries} set reinforced_at = array_append(reinforced_at, ?),
                            reinforced_weight = array_append(reinforced_weight, ?), changed_seq = ?, archived = false
                        where tenant_id = ? and memory_id = ?
                        """, e.Timestamp, r.Weight, e.Sequence, tenant, r.MemoryId);
                    break;

                case Domain.Recall.MemoryArchived a:
                    operations.QueueSqlCommand(
                        $"update {n.Entries} set archived = true, changed_seq = ? where tenant_id = ? and memory_id = ?",
                        e.Sequence, tenant, a.MemoryId);
                    break;

                case MemoriesConsolidated c:
                    operations.QueueSqlCommand(
                        $"update {n.Entries} set tags = ?, importance = ?, changed_seq = ? where tenant_id = ? and memory_id = ? and valid_to is null",
                        c.Tags.ToArray(), c.Importance, e.Sequence, tenant, c.MemoryId);
                    break;

                case SubjectForgotten s:
                    // The key is gone: no plaintext, text vector, embedding or length of the subject stays anywhere (and the
                    // row equals what a rebuild, which can no longer read the content, writes: the backup drill checks it).
                    operations.QueueSqlCommand($"""
                        update {n.Entries} set content = null, tsv = null, tsv_scoped = null, embedding = null, doc_len = 0,
                            valid_to = coalesce(valid_to, ?), ended_by = coalesce(ended_by, 'forgotten'), changed_seq = ?
                        where tenant_id = ? and subject = ?
                        """, e.Timestamp, e.Sequence, tenant, s.Subject);
                    operations.QueueSqlCommand($"delete from {n.Terms} where tenant_id = ? and subject = ?", tenant, s.Subject);
                    operations.QueueSqlCommand($"delete from {n.Subjects} where tenant_id = ? and subject = ?", tenant, s.Subject);
                    break;
            }
        }
        InsertRecorded(operations, n, recorded, texts, vectorOf, defer);

        // A bulk load leaves the planner with the statistics of a much smaller table until autovacuum analyses it
        // (up to a minute later): meanwhile a recall of a common word over the loaded subject was planned to re-read
        // the term statistics once per match and ran into the command timeout. The tables are analysed in this batch,
        // so the rows are sampled with it; a rebuild analyses once at its end instead.
        if (!defer && planner.Due(operations.Database.Id + "/" + n.Entries, inserted))
            operations.QueueSqlCommand(AnalyzeSql(n));
    }

    private static string AnalyzeSql(RecallSchema.Names n) => $"analyze {n.Entries}, {n.Terms}, {n.Subjects}";

    /// <summary>
    /// Marten's teardown empties the tables with <c>delete</c>: every row of the old read model stays behind, dead,
    /// in the heap and in each index until vacuum, and each row the replay inserts again under the same key checks
    /// the dead one in the heap (the statistics' count at the end of a 100,000-memory rebuild took 5.7-6.3 s of its
    /// backend's CPU after a delete, 3.9-4.4 s after a truncation). The first batch of a rebuild therefore truncates
    /// the three tables, but only when they hold no live row: a batch that started before the teardown (it saw the
    /// rebuild begin) finds the old rows and truncates nothing, so no row that a rebuild would not write again is lost.
    /// The state table is left alone (its epoch and marker are the batch's).
    /// </summary>
    private static string TruncateIfEmptySql(RecallSchema.Names n) => $"""
        do $$
        begin
            lock table {n.Entries}, {n.Terms}, {n.Subjects} in access exclusive mode;
            if not exists (select from {n.Entries}) and not exists (select from {n.Terms}) and not exists (select from {n.Subjects}) then
                truncate {n.Entries}, {n.Terms}, {n.Subjects};
            end if;
        end $$
        """;

    /// <summary>
    /// The end of a full rebuild (or of an analysis copy's): the indexes the replay dropped, the statistics of every
    /// current row, and the planner's statistics. Each full-text index is built on a connection of its own while
    /// <paramref name="connection"/> counts the statistics, so the three largest statements of the end keep both
    /// cores busy instead of running one after the other (AETHERRA_RECALL_REBUILD=current: one after the other, in
    /// one transaction, <see cref="CountAllAsync"/>).
    /// </summary>
    private async Task FinishAsync(NpgsqlConnection connection, RecallSchema.Names n, CancellationToken ct)
    {
        if (MeasurementSwitches.RecallRebuildCurrent || MeasurementSwitches.RecallRowWrites)
        {
            await CountAllAsync(connection, n, ct);
            return;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var builds = RecallSchema.TextIndexes.Select(i => BuildIndexAsync(RecallSchema.CreateTextIndexSql(n, i.Name), ct)).ToList();
        TimeSpan counted;
        try
        {
            await CountAllInParallelAsync(connection, n, ct);
            termsKeyDropped = false;
            counted = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            await using (var analyze = new NpgsqlCommand($"analyze {n.Terms}, {n.Subjects}", connection) { CommandTimeout = 0 })
                await analyze.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            // Never left running past the end (the indexes are needed, and a failure here must not hide theirs).
            await Task.WhenAll(builds.Select(b => b.ContinueWith(_ => { }, TaskScheduler.Default)));
        }
        var built = await Task.WhenAll(builds);
        // After the builds: analyze conflicts with the lock an index build holds.
        await using (var analyze = new NpgsqlCommand($"analyze {n.Entries}", connection) { CommandTimeout = 0 })
            await analyze.ExecuteNonQueryAsync(ct);
        log.LogInformation(
            "RecallEntry rebuild ended in {Milliseconds} ms: statistics counted in {Counted} ms beside the full-text indexes ({Indexes} ms), then analysed",
            (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, (long)counted.TotalMilliseconds,
            string.Join(" / ", built.Select(b => (long)b.TotalMilliseconds)));
    }

    /// <summary>One index built on a connection of its own (in its own transaction: it waits for a daemon batch in flight).</summary>
    private async Task<TimeSpan> BuildIndexAsync(string sql, CancellationToken ct)
    {
        await Task.Yield();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var build = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await build.ExecuteNonQueryAsync(ct);
        return System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// <see cref="CountAllAsync"/>'s count beside the index builds: the entries are locked in share mode (the daemon's
    /// writes wait, the index builds, which take the same lock, do not), the statistics in share row exclusive mode as
    /// before. The term statistics' second index is built after their rows, and the count's hash aggregate gets the
    /// memory to stay in memory (about 80 MB at 100,000 memories; PostgreSQL's default of 4 MB spilled it to disk).
    /// </summary>
    private static async Task CountAllInParallelAsync(NpgsqlConnection connection, RecallSchema.Names n, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                await using var batch = new NpgsqlBatch(connection, tx) { Timeout = 0 };
                batch.BatchCommands.Add(new("set local work_mem = '256MB'"));
                batch.BatchCommands.Add(new($"lock table {n.Entries} in share mode"));
                batch.BatchCommands.Add(new($"lock table {n.Terms}, {n.Subjects} in share row exclusive mode"));
                foreach (var sql in CountAllSql(n, "true", ordered: MeasurementSwitches.RecallTermsKeyKept)) batch.BatchCommands.Add(new(sql));
                // The key the replay dropped (a no-op with AETHERRA_RECALL_TERMS_KEY=kept), then the second index.
                batch.BatchCommands.Add(new(RecallSchema.CreateTermsKeySql(n)));
                batch.BatchCommands.Add(new(RecallSchema.CreateTermsLexemeIndexSql(n)));
                await batch.ExecuteNonQueryAsync(ct);
                await tx.CommitAsync(ct);
                return;
            }
            // A batch revising a memory takes the statistics before the rows, the other way round.
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < 5)
            {
            }
        }
    }

    /// <summary>
    /// The statistics of every current row, counted again from nothing on the caller's connection in one
    /// transaction (the end of a deferred rebuild, or of an analysis copy's). The locks make the daemon's batches
    /// wait: a batch in flight finishes first and is counted here; one after counts itself in.
    /// </summary>
    public static async Task CountAllAsync(NpgsqlConnection connection, RecallSchema.Names n, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                // Building the indexes and counting every row of a large read model can outlast a command's default timeout.
                await using var batch = new NpgsqlBatch(connection, tx) { Timeout = 0 };
                batch.BatchCommands.Add(new($"lock table {n.Entries}, {n.Terms}, {n.Subjects} in share row exclusive mode"));
                // The full-text indexes the replay dropped, built once over every row.
                foreach (var sql in RecallSchema.CreateTextIndexesSql(n)) batch.BatchCommands.Add(new(sql));
                foreach (var sql in CountAllSql(n, "true")) batch.BatchCommands.Add(new(sql));
                await batch.ExecuteNonQueryAsync(ct);
                await tx.CommitAsync(ct);
                // Every row was just written or counted again: the planner's view of the tables is analysed afresh too.
                await using var analyze = new NpgsqlCommand(AnalyzeSql(n), connection);
                await analyze.ExecuteNonQueryAsync(ct);
                return;
            }
            // A batch revising a memory takes the statistics before the rows, the other way round.
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < 5)
            {
            }
        }
    }

    /// <summary>
    /// Statements that count the statistics from the current rows when <paramref name="when"/> holds, as the
    /// incremental path leaves them, and drop the rebuild's marker.
    /// </summary>
    private static IEnumerable<string> CountAllSql(RecallSchema.Names n, string when, bool ordered = true)
    {
        yield return $"delete from {n.Terms} where {when}";
        yield return $"delete from {n.Subjects} where {when}";
        // In key order: the primary key's pages fill one after another instead of at random (a quarter less time for
        // the 100,000 term rows of 20,000 memories). Not ordered when a rebuild dropped the key: it is added after the
        // rows, by a sort of its own.
        yield return $"""
            insert into {n.Terms} (tenant_id, subject, lexeme, df)
            select e.tenant_id, e.subject, u.lexeme, count(*) from {n.Entries} e, unnest(e.tsv) u
            where e.valid_to is null and {when}
            group by e.tenant_id, e.subject, u.lexeme
            {(ordered ? "order by e.tenant_id, e.subject, u.lexeme" : "")}
            """;
        yield return $"""
            insert into {n.Subjects} (tenant_id, subject, docs, total_len)
            select tenant_id, subject, count(*), sum(doc_len) from {n.Entries}
            where valid_to is null and tsv is not null and {when}
            group by tenant_id, subject
            """;
        yield return $"delete from {n.State} where id = {DeferredMarker}";
    }

    /// <summary>
    /// Inserts the versions of consecutive <see cref="MemoryRecorded"/> events in bulk: every column an array
    /// parameter, unnested into one insert (the text vectors computed by PostgreSQL as on the single path), then
    /// their term and subject statistics in one upsert each. Queued on the daemon's session like every other
    /// change, so it commits with the projection's progress (a COPY would need a connection of its own and
    /// could not).
    /// </summary>
    private static void InsertRecorded(
        IDocumentOperations operations, RecallSchema.Names n, List<IEvent> recorded,
        Dictionary<IEvent, string> texts, Dictionary<IEvent, byte[]?> vectorOf, bool defer)
    {
        if (recorded.Count == 0) return;
        // A rebuild writes a page's recordings grouped by subject (in the events' order within each): the scoped GIN index
        // built at the end reads the heap in order, and a subject's lexemes are a region of its build's in-memory tree,
        // so grouped rows keep that region in the cache (the build's backend CPU at 100,000 memories of 100 subjects:
        // 3.1-3.6 s in the events' order, 1.4 s grouped per page of 10,000). Nothing reads the heap's order; the rows
        // of one run are recordings of distinct memories. AETHERRA_RECALL_REBUILD_ORDER=events keeps the events' order.
        if (defer && !MeasurementSwitches.RecallRebuildEventOrder)
        {
            var grouped = recorded.OrderBy(e => e.TenantId, StringComparer.Ordinal)
                .ThenBy(e => ((MemoryRecorded)e.Data).Subject, StringComparer.Ordinal).ToList();
            recorded.Clear();
            recorded.AddRange(grouped);
        }
        var count = recorded.Count;
        var tenants = new string[count];
        var ids = new Guid[count];
        var versions = new int[count];
        var subjects = new string[count];
        var agents = new string[count];
        var sessions = new string?[count];
        var kinds = new string[count];
        var tags = new string[count];
        var importances = new double[count];
        var classifications = new string[count];
        var occurred = new DateTimeOffset[count];
        var recordedAt = new DateTimeOffset[count];
        var expires = new DateTimeOffset?[count];
        var validFrom = new DateTimeOffset[count];
        var contents = new string?[count];
        var embeddings = new byte[]?[count];
        var sequences = new long[count];
        var metadata = new string?[count];
        for (var i = 0; i < count; i++)
        {
            var e = recorded[i];
            var r = (MemoryRecorded)e.Data;
            tenants[i] = e.TenantId;
            ids[i] = r.MemoryId;
            versions[i] = (int)e.Version;
            subjects[i] = r.Subject;
            agents[i] = r.Agent;
            sessions[i] = r.Session;
            kinds[i] = Lower(r.Kind);
            tags[i] = System.Text.Json.JsonSerializer.Serialize(r.Tags);
            importances[i] = r.Importance;
            classifications[i] = Lower(r.Classification);
            occurred[i] = r.OccurredAt.ToUniversalTime();
            recordedAt[i] = r.RecordedAt.ToUniversalTime();
            expires[i] = r.ExpiresAt?.ToUniversalTime();
            validFrom[i] = e.Timestamp.ToUniversalTime();
            contents[i] = Text(texts, e);
            embeddings[i] = Vector(vectorOf, e);
            sequences[i] = e.Sequence;
            metadata[i] = r.Metadata is { Count: > 0 } m ? System.Text.Json.JsonSerializer.Serialize(m) : null;
        }
        recorded.Clear();
        operations.QueueSqlCommand($"""
            {Insert(n)}
            select i.tenant_id, i.memory_id, i.version, i.subject, i.agent, i.session, i.kind,
                array(select jsonb_array_elements_text(i.tags::jsonb)), i.importance,
                i.classification, i.occurred_at, i.recorded_at, i.expires_at, i.valid_from, i.content, v.tsv,
                {Scoped("v.tsv", "i.tenant_id", "i.subject")}, {RecallSchema.LengthSql("v.tsv")},
                i.embedding, array[]::timestamptz[], array[]::double precision[], i.changed_seq, i.metadata::jsonb, i.changed_seq
            from unnest(?::text[], ?::uuid[], ?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::double precision[],
                    ?::text[], ?::timestamptz[], ?::timestamptz[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::bytea[], ?::bigint[],
                    ?::text[])
                as i(tenant_id, memory_id, version, subject, agent, session, kind, tags, importance, classification, occurred_at,
                     recorded_at, expires_at, valid_from, content, embedding, changed_seq, metadata),
                {TextVectors("i.content", "i.tenant_id", "i.subject")} v
            on conflict do nothing
            """,
            tenants, ids, versions, subjects, agents, sessions, kinds, tags, importances, classifications, occurred, recordedAt,
            expires, validFrom, contents, embeddings, sequences, metadata);
        if (defer) return;
        // The statistics of the new current versions, as CountIn does one by one.
        operations.QueueSqlCommand($"""
            insert into {n.Terms} (tenant_id, subject, lexeme, df)
            select e.tenant_id, e.subject, u.lexeme, count(*)
            from unnest(?::text[], ?::uuid[], ?::int[]) k(tenant_id, memory_id, version)
                join {n.Entries} e on e.tenant_id = k.tenant_id and e.memory_id = k.memory_id and e.version = k.version,
                unnest(e.tsv) u
            where e.valid_to is null
            group by e.tenant_id, e.subject, u.lexeme
            on conflict (tenant_id, subject, lexeme) do update set df = {n.Terms}.df + excluded.df
            """, tenants, ids, versions);
        operations.QueueSqlCommand($"""
            insert into {n.Subjects} (tenant_id, subject, docs, total_len)
            select e.tenant_id, e.subject, count(*), sum(e.doc_len)
            from unnest(?::text[], ?::uuid[], ?::int[]) k(tenant_id, memory_id, version)
                join {n.Entries} e on e.tenant_id = k.tenant_id and e.memory_id = k.memory_id and e.version = k.version
            where e.valid_to is null and e.tsv is not null
            group by e.tenant_id, e.subject
            on conflict (tenant_id, subject) do update
                set docs = {n.Subjects}.docs + excluded.docs, total_len = {n.Subjects}.total_len + excluded.total_len
            """, tenants, ids, versions);
    }

    /// <summary>Adds a new current version to the BM25 statistics of its subject.</summary>
    private static void CountIn(IDocumentOperations operations, RecallSchema.Names n, string tenant, Guid memoryId, int version)
    {
        operations.QueueSqlCommand($"""
            insert into {n.Terms} (tenant_id, subject, lexeme, df)
            select e.tenant_id, e.subject, u.lexeme, 1 from {n.Entries} e, unnest(e.tsv) u
            where e.tenant_id = ? and e.memory_id = ? and e.version = ? and e.valid_to is null
            on conflict (tenant_id, subject, lexeme) do update set df = {n.Terms}.df + 1
            """, tenant, memoryId, version);
        operations.QueueSqlCommand($"""
            insert into {n.Subjects} (tenant_id, subject, docs, total_len)
            select tenant_id, subject, 1, doc_len from {n.Entries}
            where tenant_id = ? and memory_id = ? and version = ? and valid_to is null and tsv is not null
            on conflict (tenant_id, subject) do update
                set docs = {n.Subjects}.docs + 1, total_len = {n.Subjects}.total_len + excluded.total_len
            """, tenant, memoryId, version);
    }

    /// <summary>Takes the memory's current version out of the statistics (before it is ended).</summary>
    private static void CountOut(IDocumentOperations operations, RecallSchema.Names n, string tenant, Guid memoryId)
    {
        operations.QueueSqlCommand($"""
            update {n.Terms} t set df = t.df - 1
            from {n.Entries} e, unnest(e.tsv) u
            where e.tenant_id = ? and e.memory_id = ? and e.valid_to is null
              and t.tenant_id = e.tenant_id and t.subject = e.subject and t.lexeme = u.lexeme
            """, tenant, memoryId);
        operations.QueueSqlCommand($"""
            update {n.Subjects} s set docs = s.docs - 1, total_len = s.total_len - e.doc_len
            from {n.Entries} e
            where e.tenant_id = ? and e.memory_id = ? and e.valid_to is null and e.tsv is not null
              and s.tenant_id = e.tenant_id and s.subject = e.subject
            """, tenant, memoryId);
        // No row for a count of zero, as counting everything again leaves them (the end of a rebuild).
        operations.QueueSqlCommand($"""
            delete from {n.Terms} t
            using {n.Entries} e, unnest(e.tsv) u
            where e.tenant_id = ? and e.memory_id = ? and e.valid_to is null
              and t.tenant_id = e.tenant_id and t.subject = e.subject and t.lexeme = u.lexeme and t.df <= 0
            """, tenant, memoryId);
        operations.QueueSqlCommand($"""
            delete from {n.Subjects} s using {n.Entries} e
            where e.tenant_id = ? and e.memory_id = ? and e.valid_to is null
              and s.tenant_id = e.tenant_id and s.subject = e.subject and s.docs <= 0
            """, tenant, memoryId);
    }

    private static void End(IDocumentOperations operations, RecallSchema.Names n, string tenant, Guid memoryId, IEvent e, string endedBy, bool defer)
    {
        if (!defer) CountOut(operations, n, tenant, memoryId);
        operations.QueueSqlCommand(
            $"update {n.Entries} set valid_to = ?, ended_by = ?, changed_seq = ? where tenant_id = ? and memory_id = ? and valid_to is null",
            e.Timestamp, endedBy, e.Sequence, tenant, memoryId);
    }

    /// <summary>
    /// The lateral subquery giving <c>v.tsv</c> (and <c>v.scope</c>), computed once per row; with
    /// AETHERRA_RECALL_WRITES=rows as before, where PostgreSQL inlined it and stemmed the content once per use.
    /// </summary>
    private static string TextVectors(string content, string tenant, string subject) => MeasurementSwitches.RecallRowWrites
        ? $"lateral (select to_tsvector('{RecallSchema.TextConfig}', {content}) as tsv)"
        : RecallSchema.TextVectorsSql(content, tenant, subject);

    private static string Scoped(string tsv, string tenant, string subject) => MeasurementSwitches.RecallRowWrites
        ? RecallSchema.ScopedSql(tsv, tenant, subject)
        : RecallSchema.ScopedByPrefixSql(tsv, "v.scope");

    private static string? Text(Dictionary<IEvent, string> texts, IEvent e) => texts.GetValueOrDefault(e);

    private static byte[]? Vector(Dictionary<IEvent, byte[]?> vectors, IEvent e) => vectors.GetValueOrDefault(e);

    /// <summary>The plaintext of every recorded or revised content in the batch whose key still exists.</summary>
    private async Task<Dictionary<IEvent, string>> OpenContentAsync(IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        var texts = new Dictionary<IEvent, string>();
        foreach (var byTenant in events.Where(e => SealedOf(e) is not null).GroupBy(e => e.TenantId))
        {
            // Each key is read alive as before; one the writer's cache holds is not unwrapped and imported again for
            // every daemon batch of an import.
            using var found = await keys.FindSharedAsync(byTenant.Key, byTenant.Select(e => SealedOf(e)!.KeyId).Distinct().ToList(), ct);
            foreach (var e in byTenant)
                if (MemoryContent.Open(found.Keys, byTenant.Key, MemoryIdOf(e), SealedOf(e)) is { } text) texts[e] = text;
        }
        return texts;
    }

    private static EncryptedText? SealedOf(IEvent e) => e.Data switch
    {
        MemoryRecorded r => r.Content,
        MemoryRevised v => v.Content,
        _ => null,
    };

    private static Guid MemoryIdOf(IEvent e) => e.Data switch
    {
        MemoryRecorded r => r.MemoryId,
        MemoryRevised v => v.MemoryId,
        _ => Guid.Empty,
    };

    private static string Lower<TEnum>(TEnum value) where TEnum : struct, Enum => value.ToString().ToLowerInvariant();
}

/// <summary>
/// The daemon's page size for RecallEntry (Marten's default, 500 events, live): a full rebuild reads pages of
/// <see cref="RebuildPage"/> instead (10,000; AETHERRA_RECALL_REBUILD_PAGE). Each page is a transaction of its own with
/// its load, progress update, state rows and commit around the one insert of its recordings: about a quarter of a page's
/// time at 500, which larger pages spread over more rows; and the rows of a page are inserted grouped by subject, so the
/// larger the page, the longer the runs of one subject that the scoped index's build reads at the end. Live batches keep the default, so a catch-up with embeddings still
/// commits its progress every 500 memories (what a minSequence wait follows). The page size is read by the daemon
/// for each page it loads, so it is changed on the projection's options for the rebuild and set back at its end.
/// AETHERRA_RECALL_REBUILD=current (and AETHERRA_RECALL_WRITES=rows) keep the default.
/// </summary>
public sealed class RecallPages
{
    public static int RebuildPage => MeasurementSwitches.RecallRebuildPage;

    /// <summary>The live projection's options (set where it is registered); null for a store that only rebuilds.</summary>
    public JasperFx.Events.Projections.AsyncOptions? Options { get; set; }

    private int? live;

    /// <summary>The page size the next rebuild sets (a test sets a small one, so that a rebuild of a few events spans pages).</summary>
    public int RebuildPageSize { get; set; } = RebuildPage;

    public void BeginRebuild()
    {
        if (Options is not { } options || MeasurementSwitches.RecallRebuildCurrent || MeasurementSwitches.RecallRowWrites) return;
        lock (this)
        {
            live ??= options.BatchSize;
            options.BatchSize = RebuildPageSize;
        }
    }

    public void EndRebuild()
    {
        if (Options is not { } options) return;
        lock (this)
        {
            if (live is { } size) options.BatchSize = size;
            live = null;
        }
    }
}

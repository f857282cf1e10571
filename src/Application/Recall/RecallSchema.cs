using Aetherra.Infrastructure;
using Npgsql;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Aetherra.Application.Recall;

/// <summary>
/// The RecallEntry read model: one row per content version of a memory (recorded, then each revision), so
/// that <c>asOf</c> can answer with the content known at that time. A version is valid from the event that
/// wrote it until the event that ended it (revised, forgotten, superseded). The plaintext, its full-text
/// vector and its embedding are held only while the subject's key exists: forgetting the subject erases
/// them from every row.
/// </summary>
public static class RecallSchema
{
    public const string Entries = AetherraSettings.Schema + ".recall_entries";

    /// <summary>
    /// One row whose epoch changes whenever the projection starts again from nothing (a rebuild deletes the
    /// row): in-process vector indexes compare it to know when to reload.
    /// </summary>
    public const string State = AetherraSettings.Schema + ".recall_state";

    /// <summary>
    /// Full-text statistics for BM25 over the current versions: per (tenant, subject) the number of entries
    /// holding each lexeme, and the number of entries and their total length. Lexemes are derived from the
    /// content, so forgetting a subject deletes its rows here too.
    /// </summary>
    public const string Terms = AetherraSettings.Schema + ".recall_terms";

    public const string Subjects = AetherraSettings.Schema + ".recall_subjects";

    /// <summary>Shadow ranking samples (<see cref="RecallShadow"/>).</summary>
    public const string Shadow = AetherraSettings.Schema + ".recall_shadow";

    /// <summary>Which memories recall returned, and when last (<see cref="ArchiveMemories"/>).</summary>
    public const string Usage = AetherraSettings.Schema + ".recall_usage";

    /// <summary>The text search configuration of the full-text index (stemming and stop words).</summary>
    public const string TextConfig = "english";

    /// <summary>
    /// SQL for the prefix that scopes lexemes to one tenant and subject in <c>tsv_scoped</c> (the same lexemes
    /// as <c>tsv</c>, each prefixed): a recall about one subject reads only that subject's posting lists,
    /// however large the tenant. A prefix shared by two subjects only widens the candidates (the subject is
    /// filtered too).
    /// </summary>
    public static string ScopeSql(string tenant, string subject) => $"(left(md5({tenant} || chr(31) || {subject}), 12) || '/')";

    /// <summary>SQL turning a tsvector into its scoped twin.</summary>
    public static string ScopedSql(string tsv, string tenant, string subject) => ScopedByPrefixSql(tsv, ScopeSql(tenant, subject));

    /// <summary>
    /// The same, given the prefix (<see cref="ScopeSql"/>) already computed once for the row: written inline, the
    /// prefix's md5 runs once per lexeme.
    /// </summary>
    public static string ScopedByPrefixSql(string tsv, string prefix) =>
        $"array_to_tsvector(array(select {prefix} || l from unnest(tsvector_to_array({tsv})) l))";

    /// <summary>
    /// A lateral subquery computing a row's text vector (as <c>tsv</c>) and its scope prefix (as <c>scope</c>) once:
    /// the <c>offset 0</c> keeps PostgreSQL from pulling it up into the outer query, where every use of <c>tsv</c>
    /// (the column, its scoped twin, its length) parsed and stemmed the content again.
    /// </summary>
    public static string TextVectorsSql(string content, string tenant, string subject) =>
        $"lateral (select to_tsvector('{TextConfig}', {content}) as tsv, {ScopeSql(tenant, subject)} as scope offset 0)";

    /// <summary>
    /// The full-text (GIN) indexes of the entries: a full rebuild drops them while it replays the log and builds
    /// them once at its end (<see cref="RecallProjection"/>), as they are declared in <see cref="Tables"/>.
    /// </summary>
    public static readonly (string Name, string Column)[] TextIndexes = [("recall_entries_tsv", "tsv"), ("recall_entries_tsv_scoped", "tsv_scoped")];

    /// <summary>Statements creating the full-text indexes of <paramref name="n"/>'s entries where they are missing.</summary>
    public static IEnumerable<string> CreateTextIndexesSql(Names n) => TextIndexes.Select(i => CreateTextIndexSql(n, i.Name));

    /// <summary>The statement creating one of <see cref="TextIndexes"/> where it is missing.</summary>
    public static string CreateTextIndexSql(Names n, string name) =>
        $"create index if not exists {name} on {n.Entries} using gin ({TextIndexes.Single(i => i.Name == name).Column})";

    /// <summary>Statements dropping them (the start of a full rebuild).</summary>
    public static IEnumerable<string> DropTextIndexesSql(Names n) =>
        TextIndexes.Select(i => $"drop index if exists {n.Entries[..n.Entries.LastIndexOf('.')]}.{i.Name}");

    /// <summary>
    /// The term statistics' second index (tenant and lexeme, for a recall without a subject), as declared in
    /// <see cref="Tables"/>: a full rebuild drops it with the full-text indexes and builds it after counting the
    /// statistics, so the count's rows do not each descend it (a third of the count's time at 100,000 memories).
    /// </summary>
    public const string TermsLexemeIndex = "recall_terms_lexeme";

    public static string CreateTermsLexemeIndexSql(Names n) => $"create index if not exists {TermsLexemeIndex} on {n.Terms} (tenant_id, lexeme)";

    public static string DropTermsLexemeIndexSql(Names n) => $"drop index if exists {n.Terms[..n.Terms.LastIndexOf('.')]}.{TermsLexemeIndex}";

    /// <summary>
    /// The term statistics' primary key, as Weasel names the one declared in <see cref="Tables"/>: a full rebuild drops it
    /// with the full-text indexes (the replay writes no statistics) and adds it again after counting them, so the count's
    /// 462,000 rows at 100,000 memories are indexed by one sort instead of each descending it (AETHERRA_RECALL_TERMS_KEY).
    /// </summary>
    public const string TermsKey = "pkey_recall_terms_tenant_id_subject_lexeme";

    public static string DropTermsKeySql(Names n) => $"alter table {n.Terms} drop constraint if exists {TermsKey}";

    /// <summary>
    /// Adds the key where it is missing (the end of a rebuild, or the first batch after a rebuild whose end failed). The lock
    /// first: a live batch that finds the key missing while the end of a rebuild is adding it (under its count's lock) waits
    /// for that end and then finds the key, instead of failing on a second primary key.
    /// </summary>
    public static string CreateTermsKeySql(Names n) => $"""
        do $$
        begin
            lock table {n.Terms} in share row exclusive mode;
            if not exists (select from pg_constraint where conrelid = '{n.Terms}'::regclass and contype = 'p') then
                alter table {n.Terms} add constraint {TermsKey} primary key (tenant_id, subject, lexeme);
            end if;
        end $$
        """;

    /// <summary>SQL for a tsvector's length in positions (BM25's document length).</summary>
    public static string LengthSql(string tsv) =>
        $"(select coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0) from unnest({tsv}) u)";

    /// <summary>The table names in a schema: the live one, or an analysis rebuild's (docs/operations.md).</summary>
    public sealed record Names(string Entries, string State, string Terms, string Subjects, string Shadow, string Usage)
    {
        public static Names In(string schema) =>
            new($"{schema}.recall_entries", $"{schema}.recall_state", $"{schema}.recall_terms", $"{schema}.recall_subjects",
                $"{schema}.recall_shadow", $"{schema}.recall_usage");
    }

    /// <summary>
    /// Erases a forgotten subject's plaintext, text vectors, embeddings and term statistics from the RecallEntry
    /// copies that analysis rebuilds made (schemas marked by <see cref="Operations.AnalysisRebuild.Marker"/>), on
    /// the caller's connection, inside the forgetting's transaction: a read model holds plaintext only while
    /// the key exists, analysis copies included. The live tables are the projection's to clear.
    /// </summary>
    public static async Task EraseFromAnalysisCopiesAsync(NpgsqlConnection connection, string tenant, string subject, CancellationToken ct)
    {
        foreach (var schema in await AnalysisCopiesAsync(connection, ct))
            await EraseAsync(connection, Names.In(schema), "tenant_id = $1 and subject = $2", [tenant, subject], ct);
    }

    /// <summary>
    /// Erases from an analysis copy every subject whose key no longer exists: what a rebuild that was running
    /// while a subject was forgotten may have opened before the key went.
    /// </summary>
    public static Task EraseKeylessSubjectsAsync(NpgsqlConnection connection, string schema, CancellationToken ct) =>
        EraseAsync(connection, Names.In(schema),
            $"not exists (select 1 from {AetherraSettings.Schema}.subject_keys k where k.tenant_id = {{0}}.tenant_id and k.subject = {{0}}.subject)", [], ct);

    private static async Task<List<string>> AnalysisCopiesAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            select n.nspname from pg_namespace n join pg_tables t on t.schemaname = n.nspname and t.tablename = 'recall_entries'
            where obj_description(n.oid, 'pg_namespace') like $1
            """, connection);
        cmd.Parameters.Add(new() { Value = Operations.AnalysisRebuild.Marker + "%" });
        var schemas = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) schemas.Add(reader.GetString(0));
        return schemas;
    }

    private static async Task EraseAsync(NpgsqlConnection connection, Names n, string where, object[] args, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection);
        foreach (var (table, action) in new[]
                 {
                     (n.Entries, "update {0} e set content = null, tsv = null, tsv_scoped = null, embedding = null, doc_len = 0"),
                     (n.Terms, "delete from {0} e"), (n.Subjects, "delete from {0} e"),
                 })
        {
            var command = new NpgsqlBatchCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, action, table) + " where " +
                                                 string.Format(System.Globalization.CultureInfo.InvariantCulture, where, "e"));
            foreach (var arg in args) command.Parameters.Add(new() { Value = arg });
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(ct);
    }

    public static IEnumerable<Table> Tables(string schema = AetherraSettings.Schema)
    {
        var names = Names.In(schema);
        var entries = new Table(names.Entries);
        entries.AddColumn<string>("tenant_id").AsPrimaryKey();
        entries.AddColumn<Guid>("memory_id").AsPrimaryKey();
        entries.AddColumn<int>("version").AsPrimaryKey();
        entries.AddColumn<string>("subject").NotNull();
        entries.AddColumn<string>("agent").NotNull();
        entries.AddColumn<string>("session");
        entries.AddColumn<string>("kind").NotNull();
        entries.AddColumn("tags", "text[]").NotNull();
        entries.AddColumn("importance", "double precision").NotNull();
        entries.AddColumn<string>("classification").NotNull();
        entries.AddColumn("occurred_at", "timestamptz").NotNull();
        entries.AddColumn("recorded_at", "timestamptz").NotNull();
        entries.AddColumn("expires_at", "timestamptz");
        entries.AddColumn("valid_from", "timestamptz").NotNull();
        entries.AddColumn("valid_to", "timestamptz");
        entries.AddColumn<string>("ended_by");
        entries.AddColumn<string>("content");
        entries.AddColumn("tsv", "tsvector");
        entries.AddColumn<int>("doc_len").NotNull().DefaultValueByExpression("0");
        entries.AddColumn("tsv_scoped", "tsvector");
        entries.AddColumn("embedding", "bytea");
        entries.AddColumn("reinforced_at", "timestamptz[]").NotNull();
        entries.AddColumn("reinforced_weight", "double precision[]").NotNull();
        entries.AddColumn<long>("changed_seq").NotNull();
        // The memory's metadata (a flat JSON object), for filters; null when it has none.
        entries.AddColumn("metadata", "jsonb");
        // The sequence of the event that recorded the memory (its place in the order of recording, the same for
        // every version): recall's conversational neighbours are the memories recorded next to a match.
        entries.AddColumn<long>("recorded_seq").NotNull().DefaultValueByExpression("0");
        // The compaction tier: true once memory.archived.v1 moved it to the archive, false again when reinforced.
        entries.AddColumn<bool>("archived").NotNull().DefaultValueByExpression("false");
        foreach (var (name, column) in TextIndexes)
            entries.Indexes.Add(new IndexDefinition(name) { Columns = [column], Method = IndexMethod.gin });
        entries.Indexes.Add(new IndexDefinition("recall_entries_subject") { Columns = ["tenant_id", "subject"] });
        entries.Indexes.Add(new IndexDefinition("recall_entries_changed") { Columns = ["changed_seq"] });
        yield return entries;

        var state = new Table(names.State);
        state.AddColumn<int>("id").AsPrimaryKey();
        state.AddColumn<Guid>("epoch").NotNull();
        yield return state;

        var terms = new Table(names.Terms);
        terms.AddColumn<string>("tenant_id").AsPrimaryKey();
        terms.AddColumn<string>("subject").AsPrimaryKey();
        terms.AddColumn<string>("lexeme").AsPrimaryKey();
        terms.AddColumn<int>("df").NotNull();
        terms.Indexes.Add(new IndexDefinition(TermsLexemeIndex) { Columns = ["tenant_id", "lexeme"] });
        yield return terms;

        var subjects = new Table(names.Subjects);
        subjects.AddColumn<string>("tenant_id").AsPrimaryKey();
        subjects.AddColumn<string>("subject").AsPrimaryKey();
        subjects.AddColumn<long>("docs").NotNull();
        subjects.AddColumn<long>("total_len").NotNull();
        yield return subjects;

        // Which memories recall has returned (and when last): the archive policy's "never recalled". Usage, not
        // derived from events, so a rebuild keeps it.
        var usage = new Table(names.Usage);
        usage.AddColumn<string>("tenant_id").AsPrimaryKey();
        usage.AddColumn<Guid>("memory_id").AsPrimaryKey();
        usage.AddColumn("last_recalled_at", "timestamptz").NotNull();
        usage.AddColumn<long>("recalls").NotNull();
        yield return usage;

        // Shadow ranking samples (RecallShadow): metrics only, never part of a rebuild.
        var shadow = new Table(names.Shadow);
        shadow.AddColumn<string>("tenant_id").AsPrimaryKey();
        shadow.AddColumn<Guid>("sample_id").AsPrimaryKey();
        shadow.AddColumn("at", "timestamptz").NotNull();
        shadow.AddColumn<string>("live").NotNull();
        shadow.AddColumn<string>("candidate").NotNull();
        shadow.AddColumn("live_ids", "uuid[]").NotNull();
        shadow.AddColumn("candidate_ids", "uuid[]").NotNull();
        shadow.Indexes.Add(new IndexDefinition("recall_shadow_at") { Columns = ["tenant_id", "at"] });
        yield return shadow;
    }
}

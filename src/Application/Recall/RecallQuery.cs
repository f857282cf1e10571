using System.Diagnostics;
using Aetherra.Application.Memory;
using Aetherra.Domain.Memory;
using Aetherra.Domain.Recall;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.Embeddings;
using FluentValidation;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Aetherra.Application.Recall;

public sealed record RecallRequest(
    string? Query, string? Subject, string? Agent, string? Session, IReadOnlyList<string>? Kinds,
    IReadOnlyList<string>? Tags, int? Limit, DateTimeOffset? AsOf, long? MinSequence, bool? Explain,
    System.Text.Json.JsonElement? Filter = null, IReadOnlyList<string>? Tiers = null)
{
    /// <summary>Whether the archive tier is searched too (<c>tiers</c> names it).</summary>
    public bool IncludesArchive => Tiers?.Contains(RecallTiers.Archive) == true;

    /// <summary>The parsed <see cref="Filter"/> (null without one); the validator has refused a bad one.</summary>
    public FilterNode? ParsedFilter() =>
        Filter is { ValueKind: not System.Text.Json.JsonValueKind.Null and not System.Text.Json.JsonValueKind.Undefined } f
            ? RecallFilter.Parse(f, "filter", [])
            : null;
}

public sealed record RecallExplain(double Text, double Semantic, double Recency, double Importance, double Reinforcement, double Neighbour = 0);

public sealed record RecallResult(
    Guid Id, string Content, double Score, int Version, DateTimeOffset OccurredAt, IReadOnlyList<string> Tags,
    string Subject, string Agent, string Kind, RecallExplain? Explain,
    IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Metadata = null);

public sealed record RecallResponse(IReadOnlyList<RecallResult> Results, double TookMs);

public sealed class RecallRequestValidator : AbstractValidator<RecallRequest>
{
    public const int MaxQueryLength = 2000;

    public RecallRequestValidator()
    {
        RuleFor(x => x.Query).Cascade(CascadeMode.Stop).NotEmpty().Must(q => !string.IsNullOrWhiteSpace(q))
            .WithMessage("'Query' must not be blank.").MaximumLength(MaxQueryLength);
        RuleFor(x => x.Subject).MaximumLength(MemoryLimits.MaxNameLength);
        RuleFor(x => x.Agent).MaximumLength(MemoryLimits.MaxNameLength);
        RuleFor(x => x.Session).MaximumLength(MemoryLimits.MaxNameLength);
        RuleFor(x => x.Kinds).Must(k => k is null || k.Count <= 5).WithMessage("At most 5 kinds.");
        RuleForEach(x => x.Kinds).Must(k => Enum.TryParse<MemoryKind>(k, true, out _) && !int.TryParse(k, out _))
            .WithMessage("Each kind must be one of fact, preference, episode, instruction, observation.");
        RuleFor(x => x.Tags).Must(t => t is null || t.Count <= MemoryLimits.MaxTags).WithMessage($"At most {MemoryLimits.MaxTags} tags.");
        RuleForEach(x => x.Tags).NotEmpty().MaximumLength(MemoryLimits.MaxTagLength);
        RuleFor(x => x.Limit).InclusiveBetween(1, 100);
        RuleFor(x => x.MinSequence).GreaterThanOrEqualTo(0);
        RuleFor(x => x.Tiers).Must(t => t is null || t.Count <= RecallTiers.All.Length).WithMessage("At most 2 tiers.");
        RuleForEach(x => x.Tiers).Must(t => RecallTiers.All.Contains(t)).WithMessage("Each tier must be 'live' or 'archive'.");
        RuleFor(x => x.Filter).Custom((filter, context) =>
        {
            if (filter is not { ValueKind: not System.Text.Json.JsonValueKind.Null and not System.Text.Json.JsonValueKind.Undefined } f) return;
            var errors = new List<(string Path, string Message)>();
            RecallFilter.Parse(f, "filter", errors);
            foreach (var (path, message) in errors) context.AddFailure(path, message);
        });
    }
}

/// <summary>
/// Hybrid recall over RecallEntry: full-text candidates from PostgreSQL, semantic candidates from the
/// in-process index, fused and shaped (<see cref="RecallRanking"/>), then read back with their content.
/// </summary>
public sealed class RecallQuery(
    TenantDatabases databases, RecallIndex index, TextEmbedder embedder, AetherraSettings settings, TimeProvider clock,
    RecallRankingSettings ranking, RecallShadow shadows, RecallUsage usage, ILogger<RecallQuery> log)
{
    private const string WarmupTenant = "__warmup";

    private sealed record Ranked((Guid, int) Key, ScoreParts Parts, double Neighbour);

    /// <summary>
    /// Orders the candidates by one ranking: fusion with its text weight, the one-hop conversational neighbours of
    /// its best matches (rows of neighbours the candidates did not bring are read once and shared), then shaping.
    /// </summary>
    private async Task<List<Ranked>> RankAsync(
        RankingOptions options, string tenant, RecallRequest request, Filter filter, IReadOnlyList<(Guid, int)> candidates,
        Dictionary<(Guid, int), double> text, Dictionary<(Guid, int), double> semantic, Dictionary<(Guid, int), Row> rows,
        float[]? vector, DateTimeOffset now, CancellationToken ct)
    {
        var keys = candidates.ToList();
        var relevance = keys.Select(k => new Relevance(text.GetValueOrDefault(k), semantic.TryGetValue(k, out var s) ? s : null)).ToList();
        var fused = RecallRanking.Fuse(relevance, options.TextWeight).ToList();
        var hop = new Dictionary<(Guid, int), double>();
        if (vector is not null && options.NeighbourWeight > 0)
        {
            foreach (var i in Enumerable.Range(0, keys.Count).OrderByDescending(i => fused[i]).ThenBy(i => keys[i].Item1).Take(RecallRanking.NeighbourTop).ToList())
            {
                if (fused[i] <= 0) continue;
                foreach (var n in index.Neighbours(tenant, rows[keys[i]].Subject, keys[i].Item1, keys[i].Item2, filter.Accepts,
                             RecallRanking.NeighbourSpan, RecallRanking.NeighbourWindow))
                {
                    var key = (n.MemoryId, n.Version);
                    hop[key] = Math.Max(hop.GetValueOrDefault(key), fused[i]);
                }
            }
            var missing = hop.Keys.Where(k => !rows.ContainsKey(k)).ToList();
            if (missing.Count > 0)
                foreach (var (k, row) in await RowsAsync(tenant, request, filter, missing, ct))
                {
                    rows[k] = row;
                    semantic[k] = index.Cosine(tenant, k.Item1, k.Item2, vector) ?? 0;
                }
            var known = keys.ToHashSet();
            foreach (var k in hop.Keys.Where(k => !known.Contains(k) && rows.ContainsKey(k)))
            {
                keys.Add(k);
                var r = new Relevance(0, semantic.GetValueOrDefault(k));
                relevance.Add(r);
                fused.Add((1 - options.TextWeight) * Math.Max(0, r.Semantic ?? 0));
            }
        }
        return keys.Select((k, i) =>
            {
                var row = rows[k];
                var neighbour = hop.GetValueOrDefault(k);
                var parts = RecallRanking.Score(
                    neighbour > 0 ? RecallRanking.WithNeighbour(fused[i], neighbour, options.NeighbourWeight) : fused[i], relevance[i],
                    RecallRanking.Recency(row.OccurredAt, now), row.Importance, RecallRanking.Reinforcement(row.Reinforcements, now));
                return new Ranked(k, parts, neighbour);
            })
            .OrderByDescending(r => Math.Round(r.Parts.Score, 6)).ThenBy(r => r.Key.Item1)
            .ToList();
    }

    /// <summary>How many candidates each side brings before fusion.</summary>
    public const int Candidates = 100;

    public async Task<RecallResponse> RunAsync(string tenant, RecallRequest request, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        await Common.Consistency.WaitForProjectionAsync(databases.For(tenant), RecallProjection.Name, request.MinSequence, clock, ct);
        var waited = Stopwatch.GetTimestamp();

        var now = request.AsOf ?? clock.GetUtcNow();
        var limit = request.Limit ?? 10;
        var filter = Filter.From(request, now);

        // With embeddings, the full-text statement runs while the query is embedded (and while the vector index reads
        // what the projection changed): the two sides are independent until fusion. The semantic candidates' rows the
        // statement did not bring are read after the vector search, in one more (short) round trip.
        // AETHERRA_RECALL_EMBED=serial brings back the old order: the semantic side first, then one statement for the
        // full-text candidates and the rows of both sides.
        var semantic = new Dictionary<(Guid, int), double>();
        float[]? vector = null;
        long embedded = waited, searched = waited;
        var budget = settings.RecallMatchBudget;
        Task<(Dictionary<(Guid, int), double> Text, Dictionary<(Guid, int), Row> Rows, bool Narrowed)>? early = null;
        if (settings.Embeddings)
        {
            if (!MeasurementSwitches.SerialRecallEmbedding) early = CandidatesAsync(tenant, request, filter, [], budget, ct);
            var sync = index.SyncAsync(ct);
            try
            {
                vector = embedder.EmbedQuery(request.Query!, ct);
                await sync;
            }
            catch
            {
                // Nothing leaves while a round trip of this recall still runs; the first failure is the one thrown.
                await Settle(sync);
                if (early is not null) await Settle(early);
                throw;
            }
            embedded = Stopwatch.GetTimestamp();
            foreach (var (entry, score) in index.Search(tenant, request.Subject, vector, filter.Accepts, Candidates))
                semantic[(entry.MemoryId, entry.Version)] = score;
            searched = Stopwatch.GetTimestamp();
        }
        var (text, rows, narrowed) = early is null
            ? await CandidatesAsync(tenant, request, filter, semantic.Keys.ToList(), budget, ct)
            : await early;
        // The budget left some common words out of the match and too few entries came (e.g. filters refused the rare
        // words' entries): match them all, as without a budget.
        var widened = budget > 0 && text.Count < limit && (narrowed || rows.Count == 0);
        if (widened) (text, rows, _) = await CandidatesAsync(tenant, request, filter, semantic.Keys.ToList(), 0, ct);
        else if (early is not null && semantic.Keys.Where(k => !rows.ContainsKey(k)).ToList() is { Count: > 0 } missing)
            foreach (var (k, row) in await RowsAsync(tenant, request, filter, missing, ct))
                rows[k] = row;
        var fetched = Stopwatch.GetTimestamp();
        if (vector is not null)
            foreach (var (key, cosine) in index.Cosines(tenant, text.Keys.Where(k => !semantic.ContainsKey(k)), vector))
                semantic[key] = cosine;

        var candidates = rows.Keys.ToList();
        var ranked = await RankAsync(ranking.Live, tenant, request, filter, candidates, text, semantic, rows, vector, now, ct);
        var results = ranked.Take(limit).Select(r =>
            {
                var row = rows[r.Key];
                var parts = r.Parts;
                return new RecallResult(r.Key.Item1, row.Content, Math.Round(parts.Score, 6), r.Key.Item2, row.OccurredAt, row.Tags,
                    row.Subject, row.Agent, row.Kind,
                    request.Explain == true
                        ? new RecallExplain(Math.Round(parts.Text, 6), Math.Round(parts.Semantic, 6), Math.Round(parts.Recency, 6),
                            parts.Importance, Math.Round(parts.Reinforcement, 6), Math.Round(r.Neighbour, 6))
                        : null,
                    row.Metadata);
            })
            .ToList();

        // What recall returned is what the archive policy must not call "never recalled": queued, written in batches
        // off the request's path (usage telemetry, not a client's write; RecallUsage).
        if (results.Count > 0 && tenant != WarmupTenant) usage.Record(tenant, results.Select(r => r.Id));

        // A shadow ranking on a sample of recalls: ranked over the same candidates, stored, never returned.
        if (ranking.Shadow is { } shadow && tenant != WarmupTenant && Random.Shared.NextDouble() < ranking.ShadowSample)
        {
            var other = await RankAsync(shadow, tenant, request, filter, candidates, text, semantic, rows, vector, now, ct);
            await shadows.RecordAsync(tenant, clock.GetUtcNow(), ranking.Live, shadow,
                ranked.Take(RecallShadow.K).Select(r => r.Key.Item1).ToArray(), other.Take(RecallShadow.K).Select(r => r.Key.Item1).ToArray(), ct);
        }
        var took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (log.IsEnabled(LogLevel.Debug))
            log.LogDebug(
                "Recall took {Took:0.00} ms: wait {Wait:0.00}, sync and embed {Embed:0.00} ({Order}), vector search {Search:0.00}, full text and rows {Sql:0.00} ({Text} text, {Rows} rows, {Match}), rank and usage {Rank:0.00}",
                took, Stopwatch.GetElapsedTime(started, waited).TotalMilliseconds, Stopwatch.GetElapsedTime(waited, embedded).TotalMilliseconds,
                early is null ? "statement after" : "statement beside",
                Stopwatch.GetElapsedTime(embedded, searched).TotalMilliseconds, Stopwatch.GetElapsedTime(searched, fetched).TotalMilliseconds,
                text.Count, rows.Count, widened ? "widened" : narrowed ? "narrowed" : "every match", Stopwatch.GetElapsedTime(fetched).TotalMilliseconds);
        if (tenant != WarmupTenant) Infrastructure.Telemetry.AetherraMetrics.RecallDuration.Record(took);
        return new RecallResponse(results, Math.Round(took, 2));
    }

    private static async Task Settle(Task task)
    {
        try
        {
            await task;
        }
        catch
        {
            // Observed; the caller throws its own failure.
        }
    }

    /// <summary>
    /// Loads the embedding models and the vector index and runs one recall (on a tenant no key can have), so
    /// that the first client's recall does not pay for any of it.
    /// </summary>
    public async Task WarmAsync(CancellationToken ct)
    {
        if (settings.Embeddings) embedder.Warm();
        await RunAsync(WarmupTenant, new RecallRequest("warm up", "subject", null, null, null, null, null, null, null, null), ct);
    }

    /// <summary>
    /// Full-text candidates ranked by BM25 (k1 1.2, b 0.75) over PostgreSQL's own lexemes, and the rows of
    /// those and of the semantic candidates, in one round trip. The query's lexemes are ORed (a question
    /// rarely shares every word with its answer) and matched in the subject's own posting lists when a
    /// subject is given (tsv_scoped); term frequencies and lengths come from the stored text vectors,
    /// document frequencies from the subject's statistics (the whole tenant's when no subject is given).
    /// ts_rank has no inverse document frequency, and measured worse.
    /// <para>
    /// The query's statistics (t) are left to the planner (marked materialized, replies were slower end to end): a plan
    /// made without statistics of a freshly loaded table re-read the subject's term statistics once per match (a
    /// reply's recall hit the 30 s command timeout), so the projection analyses its tables after a bulk load
    /// (<see cref="PlannerStatistics"/>). A cheaper per-match score (each lexeme's frequency by one ts_rank) was tried and
    /// measured slower end to end at 100,000 memories of a subject (docs/benchmarks.md). What is kept: each match's text
    /// vector is cut down to the query's lexemes before it is unnested (below), which leaves the plan's shape alone.
    /// </para>
    /// </summary>
    private async Task<(Dictionary<(Guid, int), double> Text, Dictionary<(Guid, int), Row> Rows, bool Narrowed)> CandidatesAsync(
        string tenant, RecallRequest request, Filter filter, IReadOnlyList<(Guid Id, int Version)> semantic, int budget, CancellationToken ct)
    {
        const string cfg = RecallSchema.TextConfig;
        var prefix = request.Subject is null ? "" : $"{RecallSchema.ScopeSql("$1", "$3")} || ";
        // Every query word (budget 0), or within the budget: the rarest words while their entry counts (recall_terms)
        // add up to at most the budget, or the only word, plus every pair of the others (at most 8 of them: 28 pairs).
        // What is left out is an entry holding exactly one common word of the query and no rarer one.
        var match = budget <= 0
            ? request.Subject is null
                ? $"replace(plainto_tsquery('{cfg}', $2)::text, ' & ', ' | ')::tsquery"
                : $"(select string_agg(quote_literal({prefix}l), ' | ') from unnest(tsvector_to_array(to_tsvector('{cfg}', $2))) l)::tsquery"
            : $"""
              (select string_agg(x, ' | ') from (
                  select quote_literal({prefix}lexeme) as x from o where keep
                  union all
                  select '(' || quote_literal({prefix}a.lexeme) || ' & ' || quote_literal({prefix}b.lexeme) || ')'
                  from o a join o b on a.rn < b.rn
                  where not a.keep and not b.keep and (select count(*) from o where not keep) <= 8) y)::tsquery
              """;
        // A match's score needs the term frequencies of the query's lexemes only: its text vector is cut down to those
        // (marked with weight A, then filtered; every stored lexeme is D first) before it is unnested, instead of
        // unnesting all its lexemes and joining them to the query's. The best matches' rows are then read back by their
        // place in the table (ctid, in the statement's own snapshot) instead of by key. AETHERRA_RECALL_SCORING=unnest
        // brings the old statement back (MeasurementSwitches).
        var unnest = MeasurementSwitches.UnnestRecallScoring;
        var scored = unnest ? "m.tsv" : "ts_filter(setweight(setweight(m.tsv, 'D'), 'A', (select array_agg(lexeme) from t)), '{a}')";
        const string columns = """
            e.content, e.subject, e.agent, e.kind, e.tags, e.importance, e.occurred_at,
                e.reinforced_at, e.reinforced_weight, e.metadata::text, exists (select 1 from o where not keep)
            """;
        var rowsOf = unnest
            ? $"""
              , k as (select memory_id, version, bm25 from b
                    union all
                    select v.id, v.version, null from unnest($9::uuid[], $10::int[]) as v(id, version)
                    where not exists (select 1 from b where b.memory_id = v.id and b.version = v.version))
              select e.memory_id, e.version, k.bm25, {columns}
              from k join {RecallSchema.Entries} e on e.tenant_id = $1 and e.memory_id = k.memory_id and e.version = k.version
              where e.content is not null and {filter.RichOf("e.")}
              """
            : $"""
              select e.memory_id, e.version, b.bm25, {columns}
              from b join {RecallSchema.Entries} e on e.ctid = b.tid
              where e.content is not null and {filter.RichOf("e.")}
              union all
              select e.memory_id, e.version, null, {columns}
              from unnest($9::uuid[], $10::int[]) as v(id, version)
              join {RecallSchema.Entries} e on e.tenant_id = $1 and e.memory_id = v.id and e.version = v.version
              where not exists (select 1 from b where b.memory_id = v.id and b.version = v.version)
                and e.content is not null and {filter.RichOf("e.")}
              """;
        await using var cmd = databases.For(tenant).CreateCommand($"""
            with s as (select greatest(sum(docs), 1)::float8 as n, greatest(sum(total_len), 1)::float8 / greatest(sum(docs), 1) as avgdl
                  from {RecallSchema.Subjects} where tenant_id = $1 and ($3::text is null or subject = $3)),
            t as (select lexeme, sum(df) as df, ln(1 + (max(s.n) - sum(df) + 0.5) / (sum(df) + 0.5)) as idf
                  from {RecallSchema.Terms}, s
                  where tenant_id = $1 and ($3::text is null or subject = $3)
                    and lexeme = any(tsvector_to_array(to_tsvector('{cfg}', $2)))
                  group by lexeme),
            o as (select lexeme, rn, {(budget <= 0 ? "true" : $"cum <= {budget} or n = 1")} as keep
                  from (select lexeme, row_number() over (order by df, lexeme) as rn, sum(df) over (order by df, lexeme) as cum,
                            count(*) over () as n from t) r),
            q as (select {match} as q),
            m as (select ctid as tid, memory_id, version, tsv, doc_len from {RecallSchema.Entries}, q
                  where tenant_id = $1 and {(request.Subject is null ? "tsv" : "tsv_scoped")} @@ q.q and {filter.Sql}
                    and {filter.Rich}),
            b as (select m.tid, m.memory_id, m.version,
                      sum(t.idf * d.tf * {Bm25K1 + 1} / (d.tf + {Bm25K1} * (1 - {Bm25B} + {Bm25B} * m.doc_len / s.avgdl))) as bm25
                  from m cross join s
                  cross join lateral (select u.lexeme, coalesce(array_length(u.positions, 1), 1) as tf from unnest({scored}) u) d
                  join t on t.lexeme = d.lexeme
                  group by m.tid, m.memory_id, m.version
                  order by bm25 desc, m.memory_id
                  limit {Candidates})
            {rowsOf}
            """);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = request.Query! });
        filter.AddParameters(cmd);
        cmd.Parameters.Add(new() { Value = semantic.Select(k => k.Id).ToArray() });
        cmd.Parameters.Add(new() { Value = semantic.Select(k => k.Version).ToArray() });
        cmd.Parameters.AddRange(filter.RichParameters.ToArray());
        return await ReadAsync(cmd, ct);
    }

    /// <summary>The rows of given versions that the request's filters accept (neighbours the candidates did not bring).</summary>
    private async Task<Dictionary<(Guid, int), Row>> RowsAsync(
        string tenant, RecallRequest request, Filter filter, IReadOnlyList<(Guid Id, int Version)> keys, CancellationToken ct)
    {
        await using var cmd = databases.For(tenant).CreateCommand($"""
            select e.memory_id, e.version, null::float8, e.content, e.subject, e.agent, e.kind, e.tags, e.importance, e.occurred_at,
                e.reinforced_at, e.reinforced_weight, e.metadata::text, false
            from unnest($9::uuid[], $10::int[]) as v(id, version)
            join {RecallSchema.Entries} e on e.tenant_id = $1 and e.memory_id = v.id and e.version = v.version
            where e.content is not null and $2::text is not null and {filter.RichOf("e.")}
            """);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = request.Query! });
        filter.AddParameters(cmd);
        cmd.Parameters.Add(new() { Value = keys.Select(k => k.Id).ToArray() });
        cmd.Parameters.Add(new() { Value = keys.Select(k => k.Version).ToArray() });
        cmd.Parameters.AddRange(filter.RichParameters.ToArray());
        return (await ReadAsync(cmd, ct)).Rows;
    }

    private static async Task<(Dictionary<(Guid, int), double> Text, Dictionary<(Guid, int), Row> Rows, bool Narrowed)> ReadAsync(
        NpgsqlCommand cmd, CancellationToken ct)
    {
        var text = new Dictionary<(Guid, int), double>();
        var rows = new Dictionary<(Guid, int), Row>();
        var narrowed = false;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var key = (reader.GetGuid(0), reader.GetInt32(1));
            if (!reader.IsDBNull(2)) text[key] = reader.GetDouble(2);
            var at = reader.GetFieldValue<DateTimeOffset[]>(10);
            var weight = reader.GetFieldValue<double[]>(11);
            rows[key] = new Row(reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6),
                (string[])reader[7], reader.GetDouble(8), reader.GetFieldValue<DateTimeOffset>(9), at.Zip(weight).ToList(),
                reader.IsDBNull(12) ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(reader.GetString(12)));
            narrowed |= reader.GetBoolean(13);
        }
        return (text, rows, narrowed);
    }

    private const double Bm25K1 = 1.2;
    private const double Bm25B = 0.75;

    private sealed record Row(
        string Content, string Subject, string Agent, string Kind, string[] Tags, double Importance, DateTimeOffset OccurredAt,
        IReadOnlyList<(DateTimeOffset, double)> Reinforcements, IReadOnlyDictionary<string, JsonElement>? Metadata);

    /// <summary>The request's filters, once as SQL (full-text side) and once as a predicate (semantic side).</summary>
    private sealed record Filter(
        string? Subject, string? Agent, string? Session, string[]? Kinds, string[]? Tags, DateTimeOffset Now, bool AsOf, FilterNode? Node,
        bool Archive)
    {
        public static Filter From(RecallRequest r, DateTimeOffset now) => new(
            r.Subject, r.Agent, r.Session,
            r.Kinds is { Count: > 0 } k ? k.Select(x => x.ToLowerInvariant()).ToArray() : null,
            r.Tags is { Count: > 0 } t ? t.ToArray() : null, now, r.AsOf is not null, r.ParsedFilter(), r.IncludesArchive);

        /// <summary>The first parameter of the rich filter: after the tenant, the query, these filters and the semantic keys.</summary>
        private const int FirstRichParameter = 11;

        /// <summary>The request's <c>filter</c> as SQL over unqualified columns (its parameters from $11).</summary>
        public string Rich => RichOf("");

        public string RichOf(string prefix) => RecallFilterSql.Compile(Node, FirstRichParameter, prefix).Sql;

        public IReadOnlyList<NpgsqlParameter> RichParameters => RecallFilterSql.Compile(Node, FirstRichParameter).Parameters;

        // Parameters $1 and $2 are the tenant and the text query; the filter's start at $3.
        public string Sql =>
            "($3::text is null or subject = $3) and ($4::text is null or agent = $4) and ($5::text is null or session = $5)"
            + " and ($6::text[] is null or kind = any($6)) and ($7::text[] is null or tags @> $7)"
            + " and content is not null and (expires_at is null or expires_at > $8)"
            + (AsOf ? " and valid_from <= $8 and (valid_to is null or valid_to > $8)" : " and valid_to is null")
            + (Archive ? "" : " and not archived");

        public void AddParameters(NpgsqlCommand cmd)
        {
            cmd.Parameters.Add(new() { Value = (object?)Subject ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)Agent ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)Session ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)Kinds ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)Tags ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = Now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        }

        public bool Accepts(RecallIndex.Entry e) =>
            (Agent is null || e.Agent == Agent) && (Session is null || e.Session == Session)
            && (Kinds is null || Kinds.Contains(e.Kind)) && (Tags is null || Tags.All(e.Tags.Contains))
            && (e.ExpiresAt is null || e.ExpiresAt > Now)
            && (AsOf ? e.ValidFrom <= Now && (e.ValidTo is null || e.ValidTo > Now) : e.ValidTo is null)
            && (Archive || !e.Archived)
            && (Node is null || RecallFilter.Evaluate(Node, e.Facts));
    }
}

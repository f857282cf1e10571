using Marten;
using Aetherra.Application.Recall;
using Wolverine.Runtime;
using Wolverine.Runtime.Agents;

namespace Aetherra.Integration.Tests;

/// <summary>
/// A rebuild empties RecallEntry for every tenant while it replays, so it runs alone, after the tests that
/// run in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RecallRebuildCollection
{
    public const string Name = "recall rebuild";
}

[Collection(RecallRebuildCollection.Name)]
public sealed class RecallRebuildTests(AetherraFixture fx)
{
    [Fact]
    public Task rebuilding_recall_entry_through_its_agent_gives_the_same_answers_as_before() =>
        SameAnswersAfter(RebuildRecallEntryAsync);

    [Fact]
    public Task rebuilding_recall_entry_through_the_admin_endpoint_gives_the_same_answers_as_before() =>
        SameAnswersAfter(RebuildThroughTheEndpointAsync);

    /// <summary>After a rebuild the projection keeps running: a new write is recalled at once.</summary>
    [Fact]
    public async Task after_a_rebuild_through_the_admin_endpoint_new_writes_are_recalled()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, before) = await client.RecordAsync(Api.Memory("Yara keeps bees on the roof", subject: "yara"));
        await client.RecallAsync(new { query = "bees", minSequence = before });

        await RebuildThroughTheEndpointAsync();
        var (id, sequence) = await client.RecordAsync(Api.Memory("Yara sells honey at the market", subject: "yara"));

        var response = await client.PostAsJsonAsync("/recall", new { query = "honey", minSequence = sequence });
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Contains(id, (await response.Json()).GetProperty("results").EnumerateArray().Ids());
    }

    /// <summary>
    /// The rebuild writes recordings in bulk (one statement per table for a run of them), the live projection
    /// as they come, interleaved with revisions, forgetting and reinforcement: the rows must be the same,
    /// statistics included.
    /// </summary>
    [Fact]
    public async Task a_rebuild_writes_the_same_read_model_as_the_live_projection()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var (ids, _) = await client.RecordBatchAsync(Enumerable.Range(0, 60).Select(i => (object)new
        {
            content = $"Memory {i} of Quinn: the {(i % 3 == 0 ? "garden" : "kitchen")} needs work number {i % 7}",
            subject = i % 4 == 0 ? "quinn" : $"quinn-{i % 3}", agent = i % 2 == 0 ? "assistant" : "planner",
            session = i % 5 == 0 ? null : $"s{i % 5}", kind = i % 2 == 0 ? "fact" : "episode",
            tags = i % 3 == 0 ? new[] { "home", $"t{i % 4}" } : Array.Empty<string>(), importance = (i % 10) / 10.0,
            occurredAt = DateTimeOffset.Parse("2026-01-01T00:00:00Z").AddHours(i).AddTicks(i * 7),
            expiresAt = i % 11 == 0 ? DateTimeOffset.Parse("2030-01-01T00:00:00.1234567Z") : (DateTimeOffset?)null,
        }).ToArray());
        await client.ReviseAsync(ids[1], "Quinn repainted the kitchen blue").SequenceOf();
        await client.RecordAsync(Api.Memory("Quinn's kitchen is blue now", subject: "quinn"));
        await client.DeleteAsync($"/memories/{ids[2]}").SequenceOf();
        (await client.PostAsJsonAsync($"/memories/{ids[3]}/reinforce", new { weight = 2.0, reason = "used" })).EnsureSuccessStatusCode();
        await client.RecordAsync(Api.Memory("Quinn plants tomatoes in the garden", subject: "quinn-1"));
        var sequence = await client.DeleteAsync("/subjects/quinn-2").SequenceOf();
        await client.RecallAsync(new { query = "kitchen", minSequence = sequence });
        var live = await ReadModelAsync(tenant.Tenant);
        Assert.Contains("garden", live);

        await RebuildThroughTheEndpointAsync();
        await client.RecallAsync(new { query = "kitchen", minSequence = sequence });

        var rebuilt = await ReadModelAsync(tenant.Tenant);
        Assert.Equal(live.Split('\n'), rebuilt.Split('\n'));
    }

    /// <summary>
    /// Issue 23's bulk rebuild (full-text indexes built once at the end, text vectors computed once per row, only the
    /// memory events loaded) against the live projection, row for row with the term statistics, over two tenants that
    /// share subject names: revisions, a forgotten memory, reinforcement, and a subject forgotten and then
    /// recorded again within what the rebuild replays as one page. The forgotten content stays erased (nothing
    /// resurrected) while the content recorded after the forgetting is kept, and the indexes are back.
    /// Also over pages of 25 events, so that the rebuild's rows are grouped by subject page by page (and a page's rows
    /// can follow a revision or a forgetting of the page before): the rows must still equal the live ones.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(25)]
    public async Task a_bulk_rebuild_equals_the_live_read_model_across_tenants_and_a_subject_recorded_again_after_forgetting(int page)
    {
        var first = await fx.NewTenantAsync();
        var second = await fx.NewTenantAsync();
        var a = fx.Client(first.Key);
        var b = fx.Client(second.Key);
        object Memory(int i, string who) => new
        {
            content = $"{who} note {i}: the {(i % 2 == 0 ? "orchard" : "harbour")} ledger lists item {i % 5} and {i % 3} crates",
            subject = $"{who}-{i % 3}", agent = i % 2 == 0 ? "assistant" : "planner", session = $"s{i % 4}",
            kind = i % 3 == 0 ? "fact" : "episode", tags = new[] { $"t{i % 2}" }, importance = (i % 10) / 10.0,
            occurredAt = DateTimeOffset.Parse("2026-02-01T00:00:00Z").AddMinutes(i),
        };
        var (idsA, _) = await a.RecordBatchAsync(Enumerable.Range(0, 40).Select(i => Memory(i, "vale")).ToArray());
        var (idsB, _) = await b.RecordBatchAsync(Enumerable.Range(0, 40).Select(i => Memory(i, "vale")).ToArray());
        await a.ReviseAsync(idsA[4], "vale-1 moved the orchard ledger to the barn").SequenceOf();
        await a.ReviseAsync(idsA[4], "vale-1 moved the orchard ledger to the mill").SequenceOf();
        await a.DeleteAsync($"/memories/{idsA[5]}").SequenceOf();
        (await a.PostAsJsonAsync($"/memories/{idsA[6]}/reinforce", new { weight = 1.5, reason = "used" })).EnsureSuccessStatusCode();
        await b.ReviseAsync(idsB[7], "vale-1 of the second tenant sold the harbour crates").SequenceOf();
        // Subject vale-2 of the first tenant is forgotten, then written again under a new key.
        await a.DeleteAsync("/subjects/vale-2").SequenceOf();
        var (again, _) = await a.RecordAsync(Api.Memory("vale-2 starts a new orchard ledger after the reset", subject: "vale-2"));
        var (_, last) = await b.RecordAsync(Api.Memory("vale-2 of the second tenant keeps the harbour ledger", subject: "vale-2"));
        await b.RecallAsync(new { query = "ledger", minSequence = last });
        var live = (await ReadModelAsync(first.Tenant), await ReadModelAsync(second.Tenant));
        Assert.Contains("new orchard ledger after the reset", live.Item1);
        Assert.DoesNotContain("vale note 2:", live.Item1);
        Assert.Contains("vale note 2:", live.Item2);

        var pages = fx.Host.Services.GetRequiredService<RecallPages>();
        if (page > 0) pages.RebuildPageSize = page;
        try
        {
            await RebuildThroughTheEndpointAsync();
        }
        finally
        {
            pages.RebuildPageSize = RecallPages.RebuildPage;
        }
        await b.RecallAsync(new { query = "ledger", minSequence = last });

        var rebuilt = (await ReadModelAsync(first.Tenant), await ReadModelAsync(second.Tenant));
        Assert.Equal(live.Item1.Split('\n'), rebuilt.Item1.Split('\n'));
        Assert.Equal(live.Item2.Split('\n'), rebuilt.Item2.Split('\n'));
        Assert.Contains(again, (await a.RecallAsync(new { query = "new orchard ledger", subject = "vale-2", minSequence = last })).Ids());

        // The full-text indexes dropped for the replay are built again, and the rebuild's marker is gone.
        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand($"""
            select (select count(*) from pg_indexes where schemaname = 'aetherra' and indexname = any($1)),
                   (select count(*) from {RecallSchema.State} where id = 2)
            """, db) { Parameters = { new() { Value = RecallSchema.TextIndexes.Select(i => i.Name).ToArray() } } };
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal((2L, 0L), (reader.GetInt64(0), reader.GetInt64(1)));
    }

    /// <summary>
    /// RecallEntry's own replay skips an event the projection refuses, as the daemon's rebuild does (SkipApplyErrors): the
    /// event is dead-lettered again with the reason, and every other event of its page and of the log is rebuilt.
    /// </summary>
    [Fact]
    public async Task a_rebuild_dead_letters_a_refused_event_and_rebuilds_the_rest_of_its_page()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var services = fx.Host.Services;
        var (before, _) = await client.RecordAsync(Api.Memory("Zora grows saffron on the terrace", subject: "zora"));
        var poison = (await Aetherra.Application.Memory.RecordMemoryHandler.Handle(
            new Aetherra.Application.Memory.RecordMemory("poison \0 saffron", "zora", "assistant", null, "fact", [], null, null, null, null, null),
            new Aetherra.Application.Common.CommandContext("test", tenant.Tenant, Guid.CreateVersion7(), Aetherra.Application.Memory.MemoryActions.Record),
            services.GetRequiredService<Marten.IDocumentStore>(), services.GetRequiredService<Aetherra.Infrastructure.Crypto.SubjectKeyStore>(),
            TimeProvider.System, CancellationToken.None)).Sequence;
        var (after, sequence) = await client.RecordAsync(Api.Memory("Zora sells saffron in autumn", subject: "zora"));
        await client.RecallAsync(new { query = "saffron", minSequence = sequence });

        await RebuildThroughTheEndpointAsync();

        var found = await client.RecallAsync(new { query = "saffron", minSequence = sequence });
        Assert.Equal(new[] { before, after }.Order(), found.Ids().Order());
        await using var query = services.GetRequiredService<Marten.IDocumentStore>().QuerySession();
        var letters = await query.Query<JasperFx.Events.Daemon.DeadLetterEvent>()
            .Where(d => d.ProjectionName == RecallProjection.Name && d.EventSequence < poison && d.EventSequence > 0)
            .ToListAsync();
        var letter = Assert.Single(letters, d => d.TenantId == tenant.Tenant);
        Assert.Contains("cannot store", letter.ExceptionMessage);
    }

    /// <summary>
    /// A replay of RecallEntry's own that fails after its first page (pages of 25 events here) leaves that page committed
    /// with its progress; the rebuild then goes through the daemon from its own teardown, the job succeeds, the rows equal
    /// the live ones, and the shard runs on afterwards.
    /// </summary>
    [Fact]
    public async Task a_replay_that_fails_falls_back_to_the_daemons_rebuild_and_the_projection_runs_on()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var (ids, _) = await client.RecordBatchAsync(Enumerable.Range(0, 60).Select(i => (object)new
        {
            content = $"Memory {i} of Odile: the {(i % 2 == 0 ? "mill" : "bakery")} ledger, line {i % 7}",
            subject = $"odile-{i % 3}", agent = "assistant", kind = "fact", importance = 0.5,
        }).ToArray());
        var sequence = await client.ReviseAsync(ids[3], "Odile closed the mill ledger").SequenceOf();
        await client.RecallAsync(new { query = "ledger", minSequence = sequence });
        var live = await ReadModelAsync(tenant.Tenant);

        var projection = fx.Host.Services.GetRequiredService<RecallProjection>();
        var pages = fx.Host.Services.GetRequiredService<RecallPages>();
        pages.RebuildPageSize = 25;
        projection.FailReplayAfterFirstPage = true;
        try
        {
            await RebuildThroughTheEndpointAsync();
        }
        finally
        {
            projection.FailReplayAfterFirstPage = false;
            pages.RebuildPageSize = RecallPages.RebuildPage;
        }
        await client.RecallAsync(new { query = "ledger", minSequence = sequence });
        Assert.Equal(live.Split('\n'), (await ReadModelAsync(tenant.Tenant)).Split('\n'));

        var (id, after) = await client.RecordAsync(Api.Memory("Odile opens a second bakery", subject: "odile-1"));
        Assert.Contains(id, (await client.RecallAsync(new { query = "second bakery", minSequence = after })).Ids());
    }

    /// <summary>
    /// A full rebuild counts the BM25 statistics once at its end; a process that died before that end leaves a
    /// marker row in recall_state, and the next batch the projection writes counts them from the rows instead.
    /// </summary>
    [Fact]
    public async Task statistics_left_uncounted_by_a_rebuild_that_never_ended_are_counted_by_the_next_batch()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        await client.RecordBatchAsync([
            Api.Memory("Uma repairs old clocks in her workshop", subject: "uma"),
            Api.Memory("Uma's workshop smells of oil and brass", subject: "uma"),
            Api.Memory("Uma's brother Teo collects clocks too", subject: "teo"),
        ]);
        var (_, recorded) = await client.RecordAsync(Api.Memory("Teo sold a clock to a museum", subject: "teo"));
        await client.RecallAsync(new { query = "clocks", minSequence = recorded });
        var (counted, fromRows) = await StatisticsAsync(tenant.Tenant);
        Assert.Equal(fromRows, counted);
        Assert.Contains("uma | clock | 1", counted);

        // What a rebuild that died half way leaves: statistics missing, and its marker.
        await using (var db = fx.OpenDatabase())
        await using (var batch = new Npgsql.NpgsqlBatch(db)
                     {
                         BatchCommands =
                         {
                             new($"delete from {RecallSchema.Terms} where tenant_id = $1") { Parameters = { new() { Value = tenant.Tenant } } },
                             new($"delete from {RecallSchema.Subjects} where tenant_id = $1") { Parameters = { new() { Value = tenant.Tenant } } },
                             new($"insert into {RecallSchema.State} (id, epoch) values (2, gen_random_uuid()) on conflict (id) do nothing"),
                         },
                     })
            await batch.ExecuteNonQueryAsync();

        var (_, sequence) = await client.RecordAsync(Api.Memory("Uma fixed the town hall clock", subject: "uma"));
        await client.RecallAsync(new { query = "clock", minSequence = sequence });

        var (recounted, now) = await StatisticsAsync(tenant.Tenant);
        Assert.Equal(now, recounted);
        Assert.Contains("uma | clock | 2", recounted);
        Assert.Contains("teo | clock | 2", recounted);
        await using (var db = fx.OpenDatabase())
        await using (var cmd = new Npgsql.NpgsqlCommand($"select count(*) from {RecallSchema.State} where id = 2", db))
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
    }

    /// <summary>
    /// The first batch of a rebuild truncates the tables Marten's teardown emptied with a delete, but only when they
    /// hold no live row. A live batch that sees the rebuild begin before the teardown (here: a rebuild that is begun
    /// and never runs) must not truncate the read model it still holds; the end then counts its statistics and builds
    /// its indexes again, and the daemon's page size is back to the live one.
    /// </summary>
    [Fact]
    public async Task a_batch_that_sees_a_rebuild_begin_before_the_teardown_truncates_nothing()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var (old, recorded) = await client.RecordAsync(Api.Memory("Ines keeps a lighthouse log every night", subject: "ines"));
        await client.RecallAsync(new { query = "lighthouse", minSequence = recorded });
        var pages = fx.Host.Services.GetRequiredService<RecallPages>();
        var live = pages.Options!.BatchSize;

        var bulk = fx.Host.Services.GetServices<Aetherra.Application.Operations.IBulkRebuild>().Single(b => b.Name == RecallProjection.Name);
        bulk.BeginRebuild();
        Assert.Equal(Aetherra.Infrastructure.MeasurementSwitches.RecallRebuildCurrent ? live : RecallPages.RebuildPage, pages.Options.BatchSize);
        long sequence;
        try
        {
            (_, sequence) = await client.RecordAsync(Api.Memory("Ines saw a ship near the lighthouse", subject: "ines"));
            // The batch that brings it is a rebuild's (deferred) one: it dropped the indexes and found rows to keep.
            await fx.WaitForProjectionAsync(RecallProjection.Name, sequence);
        }
        finally
        {
            await bulk.EndRebuildAsync(TestContext.Current.CancellationToken);
        }

        Assert.Equal(live, pages.Options.BatchSize);
        var found = await client.RecallAsync(new { query = "lighthouse", subject = "ines", minSequence = sequence });
        Assert.Contains(old, found.Ids());
        Assert.Equal(2, found.Ids().Count());
        var (counted, fromRows) = await StatisticsAsync(tenant.Tenant);
        Assert.Equal(fromRows, counted);
        Assert.Contains("ines | lighthous | 2", counted);
        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand("""
            select count(*) from pg_indexes where schemaname = 'aetherra' and indexname = any($1)
            """, db) { Parameters = { new() { Value = RecallSchema.TextIndexes.Select(i => i.Name).Append(RecallSchema.TermsLexemeIndex).ToArray() } } };
        Assert.Equal(3L, (long)(await cmd.ExecuteScalarAsync())!);
    }

    /// <summary>
    /// A process that dies mid-rebuild leaves the indexes the replay dropped missing; the schema check that start-up runs
    /// (ApplyAllDatabaseChangesOnStartup) builds them again, the term statistics' second index included.
    /// </summary>
    [Fact]
    public async Task the_indexes_a_rebuild_dropped_are_built_again_by_the_start_up_schema_check()
    {
        await using (var db = fx.OpenDatabase())
        await using (var drop = new Npgsql.NpgsqlBatch(db))
        {
            foreach (var sql in RecallSchema.DropTextIndexesSql(RecallSchema.Names.In("aetherra"))
                         .Append(RecallSchema.DropTermsLexemeIndexSql(RecallSchema.Names.In("aetherra")))
                         .Append(RecallSchema.DropTermsKeySql(RecallSchema.Names.In("aetherra"))))
                drop.BatchCommands.Add(new(sql));
            await drop.ExecuteNonQueryAsync();
        }

        await fx.Host.Services.GetRequiredService<Marten.IDocumentStore>().Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        await using var check = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand("""
            select string_agg(indexdef, '; ' order by indexname) from pg_indexes where schemaname = 'aetherra' and indexname = any($1)
            """, check) { Parameters = { new() { Value = RecallSchema.TextIndexes.Select(i => i.Name).Append(RecallSchema.TermsLexemeIndex).ToArray() } } };
        var defs = (string)(await cmd.ExecuteScalarAsync())!;
        Assert.Contains("recall_entries_tsv ON aetherra.recall_entries USING gin (tsv)", defs);
        Assert.Contains("recall_entries_tsv_scoped ON aetherra.recall_entries USING gin (tsv_scoped)", defs);
        Assert.Contains("recall_terms_lexeme ON aetherra.recall_terms USING btree (tenant_id, lexeme)", defs);
        Assert.Equal("(tenant_id, subject, lexeme)", await TermsKeyAsync());
    }

    /// <summary>
    /// A rebuild whose end fails (here: cancelled before it counts) leaves the term statistics without their primary key
    /// (dropped by the replay's first batch) and its marker: the next live batch counts the statistics and adds the key
    /// back before its own upserts need it.
    /// </summary>
    [Fact]
    public async Task after_a_rebuild_whose_end_failed_the_next_batch_adds_the_term_key_back_and_counts()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var (_, recorded) = await client.RecordAsync(Api.Memory("Vera tunes pianos in the old town", subject: "vera"));
        await client.RecallAsync(new { query = "pianos", minSequence = recorded });
        var bulk = fx.Host.Services.GetServices<Aetherra.Application.Operations.IBulkRebuild>().Single(b => b.Name == RecallProjection.Name);
        bulk.BeginRebuild();
        try
        {
            var (_, deferred) = await client.RecordAsync(Api.Memory("Vera tuned the concert hall's piano", subject: "vera"));
            await fx.WaitForProjectionAsync(RecallProjection.Name, deferred);
            if (!Aetherra.Infrastructure.MeasurementSwitches.RecallTermsKeyKept && !Aetherra.Infrastructure.MeasurementSwitches.RecallRebuildCurrent)
                Assert.Null(await TermsKeyAsync());
            using (var cancelled = new CancellationTokenSource())
            {
                await cancelled.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => bulk.EndRebuildAsync(cancelled.Token));
            }

            var (_, live) = await client.RecordAsync(Api.Memory("Vera's piano shop opens on Mondays", subject: "vera"));
            var found = await client.RecallAsync(new { query = "piano", subject = "vera", minSequence = live });
            Assert.Equal(3, found.Ids().Count());
            Assert.Equal("(tenant_id, subject, lexeme)", await TermsKeyAsync());
            var (counted, fromRows) = await StatisticsAsync(tenant.Tenant);
            Assert.Equal(fromRows, counted);
            Assert.Contains("vera | piano | 3", counted);
        }
        finally
        {
            // The full-text indexes the replay dropped are built again.
            await bulk.EndRebuildAsync(TestContext.Current.CancellationToken);
        }
        Assert.Equal("(tenant_id, subject, lexeme)", await TermsKeyAsync());
    }

    /// <summary>
    /// The end of a rebuild adds the term statistics' key inside its count's transaction while a live batch that found the
    /// key missing adds it too (<see cref="RecallSchema.CreateTermsKeySql"/>): the batch waits for the end, finds the key,
    /// and does not fail on a second primary key; exactly the one key stands afterwards.
    /// </summary>
    [Fact]
    public async Task a_batch_adding_the_term_key_while_the_end_of_a_rebuild_adds_it_waits_and_finds_it()
    {
        var n = RecallSchema.Names.In("aetherra");
        await using (var db = fx.OpenDatabase())
        await using (var drop = new Npgsql.NpgsqlCommand(RecallSchema.DropTermsKeySql(n), db))
            await drop.ExecuteNonQueryAsync();
        Assert.Null(await TermsKeyAsync());

        // The end: the count's lock, then the key, in one transaction left open while the batch comes.
        await using var end = fx.OpenDatabase();
        await using var tx = await end.BeginTransactionAsync();
        await using (var first = new Npgsql.NpgsqlCommand($"lock table {n.Terms} in share row exclusive mode", end, tx))
            await first.ExecuteNonQueryAsync();
        await using (var add = new Npgsql.NpgsqlCommand(RecallSchema.CreateTermsKeySql(n), end, tx))
            await add.ExecuteNonQueryAsync();

        await using var batch = fx.OpenDatabase();
        await using var waiting = new Npgsql.NpgsqlCommand(RecallSchema.CreateTermsKeySql(n), batch);
        var adding = waiting.ExecuteNonQueryAsync();
        // The batch waits on the end's lock (it has not finished while the end's transaction is open).
        await using (var locks = fx.OpenDatabase())
        await using (var blocked = new Npgsql.NpgsqlCommand(
                         "select count(*) from pg_locks where not granted and relation = $1::regclass", locks) { Parameters = { new() { Value = n.Terms } } })
        {
            while ((long)(await blocked.ExecuteScalarAsync())! == 0) await Task.Delay(10, TestContext.Current.CancellationToken);
        }
        Assert.False(adding.IsCompleted);
        await tx.CommitAsync();
        await adding;

        Assert.Equal("(tenant_id, subject, lexeme)", await TermsKeyAsync());
    }

    /// <summary>The columns of the term statistics' primary key, or null when it has none.</summary>
    private async Task<string?> TermsKeyAsync()
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand($"""
            select substring(pg_get_constraintdef(oid) from '\(.*\)') from pg_constraint
            where conrelid = '{RecallSchema.Terms}'::regclass and contype = 'p'
            """, db);
        return await cmd.ExecuteScalarAsync() as string;
    }

    /// <summary>The tenant's statistics as text, and the same counted from its current rows.</summary>
    private async Task<(string Stored, string FromRows)> StatisticsAsync(string tenant)
    {
        await using var db = fx.OpenDatabase();
        var texts = new List<string>();
        foreach (var queries in new[]
                 {
                     new[]
                     {
                         $"select subject, lexeme, df from {RecallSchema.Terms} where tenant_id = $1 order by subject, lexeme",
                         $"select subject, docs, total_len from {RecallSchema.Subjects} where tenant_id = $1 order by subject",
                     },
                     new[]
                     {
                         $"""
                         select e.subject, u.lexeme, count(*) from {RecallSchema.Entries} e, unnest(e.tsv) u
                         where e.tenant_id = $1 and e.valid_to is null group by 1, 2 order by 1, 2
                         """,
                         $"""
                         select subject, count(*), sum(doc_len) from {RecallSchema.Entries}
                         where tenant_id = $1 and valid_to is null and tsv is not null group by 1 order by 1
                         """,
                     },
                 })
        {
            var text = new System.Text.StringBuilder();
            foreach (var sql in queries)
            {
                await using var cmd = new Npgsql.NpgsqlCommand(sql, db) { Parameters = { new() { Value = tenant } } };
                await using var reader = await cmd.ExecuteReaderAsync();
                while (await reader.ReadAsync()) text.AppendLine($"{reader.GetValue(0)} | {reader.GetValue(1)} | {reader.GetValue(2)}");
            }
            texts.Add(text.ToString());
        }
        return (texts[0], texts[1]);
    }

    /// <summary>Every row of a tenant in the three RecallEntry tables, as text, in key order (vectors rounded to 1e-5).</summary>
    private async Task<string> ReadModelAsync(string tenant)
    {
        await using var db = fx.OpenDatabase();
        var text = new System.Text.StringBuilder();
        foreach (var sql in new[]
                 {
                     $"""
                     select memory_id, version, subject, agent, session, kind, tags, importance, classification, occurred_at, recorded_at,
                         expires_at, valid_from, valid_to, ended_by, content, tsv, tsv_scoped, doc_len, reinforced_at, reinforced_weight,
                         changed_seq, length(embedding), metadata::text, recorded_seq, archived
                     from {RecallSchema.Entries} where tenant_id = $1 order by memory_id, version
                     """,
                     $"select subject, lexeme, df from {RecallSchema.Terms} where tenant_id = $1 order by subject, lexeme",
                     $"select subject, docs, total_len from {RecallSchema.Subjects} where tenant_id = $1 order by subject",
                 })
        {
            await using var cmd = new Npgsql.NpgsqlCommand(sql, db) { Parameters = { new() { Value = tenant } } };
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                text.AppendLine(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null" : Format(reader.GetValue(i)))));
        }
        await using (var vectors = new Npgsql.NpgsqlCommand($"select embedding from {RecallSchema.Entries} where tenant_id = $1 and embedding is not null order by memory_id, version", db))
        {
            vectors.Parameters.Add(new() { Value = tenant });
            await using var reader = await vectors.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                text.AppendLine(string.Join(",", Aetherra.Infrastructure.Embeddings.TextEmbedder.FromBytes((byte[])reader[0])
                    .Select(x => Math.Round(x, 5).ToString("F5", System.Globalization.CultureInfo.InvariantCulture))));
        }
        return text.ToString();

        static string Format(object value) => value switch
        {
            Array a => "[" + string.Join(",", a.Cast<object>().Select(Format)) + "]",
            DateTime d => d.ToString("O"),
            double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }

    private async Task SameAnswersAfter(Func<Task> rebuild)
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, _) = await client.RecordBatchAsync([
            new { content = "Wren adopted a grey cat called Smoke", subject = "wren", agent = "assistant", kind = "fact", tags = new[] { "pets" }, importance = 0.8 },
            new { content = "Wren's cat Smoke hates the vet", subject = "wren", agent = "assistant", kind = "observation", tags = new[] { "pets", "health" }, importance = 0.5 },
            new { content = "Wren prefers dogs to cats, she says", subject = "wren", agent = "planner", kind = "preference", tags = Array.Empty<string>(), importance = 0.3 },
            new { content = "Wren walks the neighbour's dog on Saturdays", subject = "wren", agent = "assistant", kind = "episode", tags = new[] { "pets" }, importance = 0.5 },
            new { content = "Wren's sister Ada has two cats", subject = "ada", agent = "assistant", kind = "fact", tags = new[] { "pets" }, importance = 0.5 },
            new { content = "Ada moved to Lisbon with her cats", subject = "ada", agent = "assistant", kind = "episode", tags = Array.Empty<string>(), importance = 0.5 },
        ]);
        await client.ReviseAsync(ids[0], "Wren adopted a black cat called Smoke").SequenceOf();
        await client.DeleteAsync($"/memories/{ids[3]}").SequenceOf();
        var revisedAt = (await client.HistoryInstantsAsync(ids[0]))[1];
        var sequence = await client.DeleteAsync("/subjects/ada").SequenceOf();
        object[] queries =
        [
            new { query = "Wren's cat", explain = true },
            new { query = "Which pets does Wren have?", subject = "wren" },
            new { query = "dog", agent = "assistant" },
            new { query = "cat", tags = new[] { "pets" }, kinds = new[] { "fact", "observation" } },
            new { query = "Wren adopted a grey cat", asOf = revisedAt.AddTicks(-10) },
            new { query = "Wren adopted a cat", asOf = revisedAt },
            new { query = "Ada Lisbon cats" },
        ];
        var before = await AnswersAsync(client, queries, sequence);
        Assert.Contains(before, a => a.Length > 1);
        Assert.Equal(ids[0], before[4][0].Id);
        Assert.Equal(1, before[4][0].Version);
        Assert.Equal(2, before[5][0].Version);

        var epoch = await EpochAsync();

        await rebuild();

        // The read model was built again from nothing: a rebuild starts a new epoch.
        Assert.NotEqual(epoch, await EpochAsync());

        var after = await AnswersAsync(client, queries, sequence);
        for (var i = 0; i < queries.Length; i++)
            Assert.True(before[i].SequenceEqual(after[i]),
                $"query {i}: before {string.Join(", ", before[i])}; after {string.Join(", ", after[i])}");
    }

    /// <summary>POST /admin/projections/RecallEntry/rebuild (202, a job), followed until the job has ended.</summary>
    private Task RebuildThroughTheEndpointAsync() => fx.Client(fx.AdminKey).RebuildAsync(RecallProjection.Name, new { });

    private async Task<Guid?> EpochAsync()
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand($"select epoch from {RecallSchema.State} where id = 1", db);
        return await cmd.ExecuteScalarAsync() as Guid?;
    }

    private static async Task<(Guid Id, int Version)[][]> AnswersAsync(HttpClient client, object[] queries, long sequence)
    {
        var answers = new List<(Guid, int)[]>();
        foreach (var query in queries)
        {
            var body = JsonSerializer.SerializeToNode(query)!.AsObject();
            body["minSequence"] = sequence;
            answers.Add((await client.RecallAsync(body))
                .Select(r => (r.GetProperty("id").GetGuid(), r.GetProperty("version").GetInt32())).ToArray());
        }
        return answers.ToArray();
    }

    /// <summary>
    /// Rebuilds through the agent Wolverine runs the projection in (the only writer of its progression):
    /// it stops the continuous shard, tears down and replays RecallEntry to the high-water mark, and starts
    /// the shard again. Wolverine's docs warn against driving the daemon from the side under its managed
    /// distribution, which would add a second writer.
    /// </summary>
    private async Task RebuildRecallEntryAsync()
    {
        var services = fx.Host.Services;
        var family = services.GetServices<IAgentFamily>().OfType<IEventSubscriptionAgentFamily>().Single();
        var uri = await family.FindAgentUriAsync($"{RecallProjection.Name}:All", null, TestContext.Current.CancellationToken);
        Assert.NotNull(uri);
        var runtime = services.GetRequiredService<IWolverineRuntime>();
        Assert.True(runtime.Agents.TryFindActiveAgent<IEventSubscriptionAgent>(uri, out var agent),
            $"no running agent {uri} on this node: {string.Join(", ", runtime.Agents.AllRunningAgentUris().Select(u => u.ToString()))}");
        await agent.RebuildAsync(TestContext.Current.CancellationToken);
    }
}

using Aetherra.Application.Memory;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Npgsql;

namespace Aetherra.Integration.Tests;

/// <summary>
/// Concurrent single writes of a tenant taken together into one transaction (MemoryWriteBatch), through HTTP. To know
/// exactly which requests a batch holds, each test first holds the tenant's lane busy: one write to a subject whose key
/// the test has locked (the advisory lock a cached key's proof takes, and the key row) waits at its commit, the other
/// requests queue behind it, and the lock is released once they all wait; they are then the next transaction.
/// </summary>
public sealed class MemoryWriteBatchTests(AetherraFixture fx)
{
    private const string Held = "held";

    private IDocumentStore Store => fx.Host.Services.GetRequiredService<IDocumentStore>();

    [Fact]
    public async Task concurrent_writes_of_two_tenants_are_taken_together_each_with_its_own_stream_metadata_audit_record_and_answer()
    {
        Assert.SkipWhen(MeasurementSwitches.WriteOneByOne, "AETHERRA_WRITE_BATCH=off: every write alone");
        const int perTenant = 12;
        var tenants = new[] { await fx.NewTenantAsync(), await fx.NewTenantAsync() };
        var lone = new Dictionary<string, (string User, string Correlation)>();
        foreach (var t in tenants)
        {
            var response = await fx.Client(t.Key).PostAsJsonAsync("/memories", Api.Memory($"first of {t.Tenant}", subject: Held));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var id = (await response.Json()).GetProperty("id").GetGuid();
            lone[t.Tenant] = Assert.Single(await EventMetadataAsync(id));
            Assert.Equal(RequestId(response), lone[t.Tenant].Correlation);
        }

        var sent = await SendBehindHeldLaneAsync(tenants, t => Enumerable.Range(0, perTenant)
            .Select(n => Api.Memory($"note {n} of {t.Tenant}", subject: n % 3 == 0 ? Held : $"subject-{n % 4}")).ToList());

        foreach (var t in tenants)
        {
            var state = MemoryWriteBatch.State(Store, t.Tenant);
            Assert.Equal((1L, (long)perTenant, 0L), (state.Batches, state.Requests, state.FellBack));
            var client = fx.Client(t.Key);
            var records = (await client.AuditAsync(MemoryActions.Record)).ToDictionary(r => r.GetProperty("requestId").GetString()!);
            var answers = sent[t.Tenant];
            Assert.Equal(perTenant, answers.Count);
            var sequences = new HashSet<long>();
            foreach (var (response, body, memory) in answers)
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                Assert.False(body.GetProperty("deduplicated").GetBoolean());
                var id = body.GetProperty("id").GetGuid();
                var requestId = RequestId(response);
                var read = await client.ReadMemoryAsync(id);
                Assert.Equal(Content(memory), read.GetProperty("content").GetString());

                // Its own memory event, stamped as a lone write's: its actor and its own request as correlation.
                var (user, correlation) = Assert.Single(await EventMetadataAsync(id));
                Assert.Equal(lone[t.Tenant].User, user);
                Assert.Equal(requestId, correlation);

                // Its own accepted audit record, and its answer is that record's sequence (its own last event).
                var record = records[requestId];
                Assert.Equal(t.KeyId.ToString(), record.GetProperty("actor").GetString());
                Assert.Equal(id.ToString(), record.GetProperty("target").GetString());
                Assert.Equal(201, record.GetProperty("status").GetInt32());
                var (auditUser, auditCorrelation) = Assert.Single(await EventMetadataAsync(Guid.Parse(requestId)));
                Assert.Equal((lone[t.Tenant].User, requestId), (auditUser, auditCorrelation));
                Assert.Equal(await SequenceAsync(Guid.Parse(requestId)), body.GetProperty("sequence").GetInt64());
                Assert.True(sequences.Add(body.GetProperty("sequence").GetInt64()));
            }
        }
    }

    [Fact]
    public async Task duplicates_in_one_batch_record_the_content_once_and_answer_the_others_with_its_id()
    {
        Assert.SkipWhen(MeasurementSwitches.WriteOneByOne, "AETHERRA_WRITE_BATCH=off: every write alone");
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        await client.RecordAsync(Api.Memory("warm-up", subject: Held));
        var (stored, _) = await client.RecordAsync(Api.Memory("already stored", subject: "s"));

        var sent = await SendBehindHeldLaneAsync([key], _ =>
        [
            Api.Memory("said twice", subject: "s"), Api.Memory("said twice", subject: "s"), Api.Memory("said twice", subject: "s"),
            Api.Memory("already stored", subject: "s"), Api.Memory("said twice", subject: "s", agent: "another agent"),
        ]);

        Assert.Equal((1L, 5L), (MemoryWriteBatch.State(Store, key.Tenant).Batches, MemoryWriteBatch.State(Store, key.Tenant).Requests));
        var answers = sent[key.Tenant];
        var twice = answers.Take(3).ToList();
        // Whichever reached the lane first is recorded (the requests race there), the other two answered with its id.
        var created = Assert.Single(twice, a => a.Response.StatusCode == HttpStatusCode.Created);
        Assert.False(created.Body.GetProperty("deduplicated").GetBoolean());
        Assert.All(twice.Where(a => a.Response.StatusCode != HttpStatusCode.Created), a =>
        {
            Assert.Equal(HttpStatusCode.OK, a.Response.StatusCode);
            Assert.True(a.Body.GetProperty("deduplicated").GetBoolean());
        });
        Assert.Single(twice.Select(a => a.Body.GetProperty("id").GetGuid()).Distinct());
        Assert.Equal(HttpStatusCode.OK, answers[3].Response.StatusCode);
        Assert.Equal(stored, answers[3].Body.GetProperty("id").GetGuid());
        // Another agent's same words are another memory.
        Assert.Equal(HttpStatusCode.Created, answers[4].Response.StatusCode);
        Assert.NotEqual(twice[0].Body.GetProperty("id").GetGuid(), answers[4].Body.GetProperty("id").GetGuid());
        Assert.Equal(1, await RecordedCountAsync(twice[0].Body.GetProperty("id").GetGuid()));

        var records = (await client.AuditAsync(MemoryActions.Record)).ToDictionary(r => r.GetProperty("requestId").GetString()!);
        foreach (var (response, body, _) in answers)
        {
            var record = records[RequestId(response)];
            Assert.Equal((int)response.StatusCode, record.GetProperty("status").GetInt32());
            Assert.Equal(body.GetProperty("id").GetGuid().ToString(), record.GetProperty("target").GetString());
        }
    }

    [Fact]
    public async Task an_invalid_write_or_one_whose_subject_was_forgotten_elsewhere_fails_none_of_the_others()
    {
        Assert.SkipWhen(MeasurementSwitches.WriteOneByOne, "AETHERRA_WRITE_BATCH=off: every write alone");
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        await client.RecordAsync(Api.Memory("warm-up", subject: Held));
        // Another node forgot "gone": its key row is deleted, while this node still holds the key in its cache.
        await client.RecordAsync(Api.Memory("about gone", subject: "gone"));
        await using (var db = fx.OpenDatabase())
        await using (var delete = new NpgsqlCommand("delete from aetherra.subject_keys where tenant_id = $1 and subject = 'gone'", db))
        {
            delete.Parameters.Add(new() { Value = key.Tenant });
            Assert.Equal(1, await delete.ExecuteNonQueryAsync());
        }
        var tombstonesBefore = await TombstonesAsync(key.Tenant);

        var sent = await SendBehindHeldLaneAsync([key], _ =>
        [
            Api.Memory("one", subject: "a"), Api.Memory("", subject: "a"), Api.Memory("new about gone", subject: "gone"),
            Api.Memory("two", subject: "b"), Api.Memory("three", subject: "a"),
        ], queued: 4);

        var answers = sent[key.Tenant];
        Assert.Equal(HttpStatusCode.BadRequest, answers[1].Response.StatusCode);
        foreach (var i in new[] { 0, 2, 3, 4 })
        {
            Assert.Equal(HttpStatusCode.Created, answers[i].Response.StatusCode);
            var id = answers[i].Body.GetProperty("id").GetGuid();
            Assert.Equal(Content(answers[i].Memory), (await client.ReadMemoryAsync(id)).GetProperty("content").GetString());
        }
        // The batch of the four valid writes failed on the destroyed key and rolled back whole (its sequences written
        // as tombstones: no gap); each then wrote alone, "gone" under a new key.
        var state = MemoryWriteBatch.State(Store, key.Tenant);
        Assert.Equal((0L, 4L), (state.Batches, state.FellBack));
        Assert.True(await TombstonesAsync(key.Tenant) >= tombstonesBefore + 8, "the rolled-back batch's 8 sequences are tombstones");
        var records = (await client.AuditAsync(MemoryActions.Record)).ToDictionary(r => r.GetProperty("requestId").GetString()!);
        foreach (var i in new[] { 0, 2, 3, 4 })
        {
            var record = records[RequestId(answers[i].Response)];
            Assert.Equal(201, record.GetProperty("status").GetInt32());
            Assert.Equal(answers[i].Body.GetProperty("id").GetGuid().ToString(), record.GetProperty("target").GetString());
        }
    }

    [Fact]
    public async Task a_forget_that_commits_while_a_batch_waits_at_its_commit_wins_and_the_batch_writes_alone_under_a_new_key()
    {
        Assert.SkipWhen(MeasurementSwitches.WriteOneByOne, "AETHERRA_WRITE_BATCH=off: every write alone");
        // The batch proves its keys in subject order: it waits on "held" (locked by the test) before it locks "x".
        var (key, client, oldKey, forget, answers) = await ForgetRaceAsync(blocking: "held", forgotten: "x", forgetWaits: false);

        var forgotten = await forget.Json();
        Assert.Equal(1, forgotten.GetProperty("memoriesForgotten").GetInt32());
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        // The batch found the key destroyed at its commit and rolled back; each request then wrote alone, "x" under a
        // new key (a write after a forget is a new memory), so nothing was sealed with the destroyed key.
        var state = MemoryWriteBatch.State(Store, key.Tenant);
        Assert.Equal((0L, 2L), (state.Batches, state.FellBack));
        var newKey = await fx.SubjectKeyIdAsync(key.Tenant, "x");
        Assert.NotNull(newKey);
        Assert.NotEqual(oldKey, newKey);
        var during = await client.ReadMemoryAsync((await answers[1].Json()).GetProperty("id").GetGuid());
        Assert.Equal(("active", "x during"), (during.GetProperty("status").GetString(), during.GetProperty("content").GetString()));
    }

    [Fact]
    public async Task a_forget_that_arrives_after_a_batch_proved_its_key_waits_for_it_and_forgets_what_it_wrote()
    {
        Assert.SkipWhen(MeasurementSwitches.WriteOneByOne, "AETHERRA_WRITE_BATCH=off: every write alone");
        // The batch proves "x" (its shared lock held) before it waits on "zzz" (locked by the test).
        var (key, client, _, forget, answers) = await ForgetRaceAsync(blocking: "zzz", forgotten: "x", forgetWaits: true);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        Assert.Equal((1L, 2L), (MemoryWriteBatch.State(Store, key.Tenant).Batches, MemoryWriteBatch.State(Store, key.Tenant).Requests));
        // The forget waited for the batch's commit, then forgot the memory the batch wrote with the key it destroyed.
        Assert.Equal(2, (await forget.Json()).GetProperty("memoriesForgotten").GetInt32());
        Assert.Null(await fx.SubjectKeyIdAsync(key.Tenant, "x"));
        var during = await client.ReadMemoryAsync((await answers[1].Json()).GetProperty("id").GetGuid());
        Assert.Equal("forgotten", during.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, during.GetProperty("content").ValueKind);
    }

    /// <summary>
    /// A batch of two writes (to <paramref name="blocking"/> and to <paramref name="forgotten"/>, whose keys this process
    /// holds) held at its commit on <paramref name="blocking"/>'s lock, and a forget of <paramref name="forgotten"/> sent
    /// meanwhile; when <paramref name="forgetWaits"/>, the test waits for the forget to wait on the key's lock before it
    /// lets the batch go, else for the forget's answer.
    /// </summary>
    private async Task<(TenantKey Key, HttpClient Client, Guid? OldKey, HttpResponseMessage Forget, HttpResponseMessage[] Answers)> ForgetRaceAsync(
        string blocking, string forgotten, bool forgetWaits)
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        foreach (var subject in new[] { Held, blocking, forgotten }.Distinct())
            await client.RecordAsync(Api.Memory($"{subject} before", subject: subject));
        var oldKey = await fx.SubjectKeyIdAsync(key.Tenant, forgotten);

        await using var lane = Hold(key.Tenant, Held + "-lane");
        await client.RecordAsync(Api.Memory("lane warm-up", subject: Held + "-lane"));
        await lane.LockAsync();
        var first = client.PostAsJsonAsync("/memories", Api.Memory("lane holder", subject: Held + "-lane"));
        await UntilAsync(() => MemoryWriteBatch.State(Store, key.Tenant).Running);
        await using var gate = Hold(key.Tenant, blocking);
        await gate.LockAsync();
        var writes = new[]
        {
            client.PostAsJsonAsync("/memories", Api.Memory($"{blocking} during", subject: blocking)),
            client.PostAsJsonAsync("/memories", Api.Memory($"{forgotten} during", subject: forgotten)),
        };
        await UntilAsync(() => MemoryWriteBatch.State(Store, key.Tenant).Waiting == 2);
        await lane.ReleaseAsync();
        Assert.Equal(HttpStatusCode.Created, (await first).StatusCode);
        // The batch now runs and waits at its commit for the test's lock on the blocking subject.
        await UntilAsync(() => WaitersOn(key.Tenant, blocking) == 1);

        var forget = client.DeleteAsync($"/subjects/{forgotten}");
        if (forgetWaits) await UntilAsync(() => WaitersOn(key.Tenant, forgotten) == 1);
        else Assert.Equal(HttpStatusCode.OK, (await forget.WaitAsync(TimeSpan.FromSeconds(60))).StatusCode);
        await gate.ReleaseAsync();
        var forgetAnswer = await forget;
        Assert.Equal(HttpStatusCode.OK, forgetAnswer.StatusCode);
        return (key, client, oldKey, forgetAnswer, await Task.WhenAll(writes));
    }

    /// <summary>How many transactions wait for (tenant, subject)'s subject-key advisory lock (shared or exclusive).</summary>
    private int WaitersOn(string tenant, string subject)
    {
        using var db = fx.OpenDatabase();
        using var cmd = new NpgsqlCommand(
            "select count(*)::int from pg_locks where locktype = 'advisory' and not granted and objsubid = 2 and classid = $1::bigint::oid " +
            "and objid = (hashtext($2::text || chr(31) || $3::text)::bigint & 4294967295)::oid", db)
        {
            Parameters = { new() { Value = (long)SubjectKeyStore.KeyLockSpace }, new() { Value = tenant }, new() { Value = subject } }
        };
        return (int)cmd.ExecuteScalar()!;
    }

    private SubjectLock Hold(string tenant, string subject) => new(fx.OpenDatabase(), tenant, subject);

    /// <summary>A test's own transaction holding a subject's key lock (the advisory lock and the key row) until released.</summary>
    private sealed class SubjectLock(NpgsqlConnection db, string tenant, string subject) : IAsyncDisposable
    {
        private bool _held;

        public async Task LockAsync()
        {
            await using (var begin = new NpgsqlCommand("begin", db)) await begin.ExecuteNonQueryAsync();
            _held = true;
            foreach (var sql in new[]
                     {
                         $"select pg_advisory_xact_lock({SubjectKeyStore.KeyLockSpace}, hashtext($1::text || chr(31) || $2::text))",
                         "select 1 from aetherra.subject_keys where tenant_id = $1 and subject = $2 for update",
                     })
            {
                await using var hold = new NpgsqlCommand(sql, db) { Parameters = { new() { Value = tenant }, new() { Value = subject } } };
                await hold.ExecuteNonQueryAsync();
            }
        }

        public async Task ReleaseAsync()
        {
            if (!_held) return;
            _held = false;
            await using var rollback = new NpgsqlCommand("rollback", db);
            await rollback.ExecuteNonQueryAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await ReleaseAsync();
            await db.DisposeAsync();
        }
    }

    /// <summary>
    /// For each tenant: one write to <see cref="Held"/> while the test holds its key (it waits at its commit, the lane
    /// busy), then the given writes, all sent at once; once <paramref name="queued"/> of them (all, by default) wait in
    /// the lane the key is let go, and every answer is read. The held write's answer is not among those returned.
    /// </summary>
    private async Task<Dictionary<string, List<(HttpResponseMessage Response, JsonElement Body, object Memory)>>> SendBehindHeldLaneAsync(
        IReadOnlyList<TenantKey> tenants, Func<TenantKey, List<object>> memories, int? queued = null)
    {
        await using var db = fx.OpenDatabase();
        await using (var begin = new NpgsqlCommand("begin", db)) await begin.ExecuteNonQueryAsync();
        foreach (var t in tenants)
        {
            foreach (var sql in new[]
                     {
                         $"select pg_advisory_xact_lock({SubjectKeyStore.KeyLockSpace}, hashtext($1::text || chr(31) || $2::text))",
                         "select 1 from aetherra.subject_keys where tenant_id = $1 and subject = $2 for update",
                     })
            {
                await using var hold = new NpgsqlCommand(sql, db) { Parameters = { new() { Value = t.Tenant }, new() { Value = Held } } };
                await hold.ExecuteNonQueryAsync();
            }
        }
        var held = new List<Task<HttpResponseMessage>>();
        var sends = new Dictionary<string, List<(Task<HttpResponseMessage> Response, object Memory)>>();
        try
        {
            foreach (var t in tenants)
            {
                held.Add(fx.Client(t.Key).PostAsJsonAsync("/memories", Api.Memory($"held write of {t.Tenant}", subject: Held)));
                await UntilAsync(() => MemoryWriteBatch.State(Store, t.Tenant).Running);
            }
            foreach (var t in tenants)
            {
                var client = fx.Client(t.Key);
                sends[t.Tenant] = memories(t).Select(m => (client.PostAsJsonAsync("/memories", m), m)).ToList();
            }
            foreach (var t in tenants)
            {
                var expected = queued ?? sends[t.Tenant].Count;
                await UntilAsync(() => MemoryWriteBatch.State(Store, t.Tenant).Waiting == expected);
            }
        }
        finally
        {
            await using var release = new NpgsqlCommand("rollback", db);
            await release.ExecuteNonQueryAsync();
        }
        foreach (var h in held) Assert.Equal(HttpStatusCode.Created, (await h).StatusCode);
        var answers = new Dictionary<string, List<(HttpResponseMessage, JsonElement, object)>>();
        foreach (var (tenant, list) in sends)
        {
            answers[tenant] = [];
            foreach (var (response, memory) in list)
            {
                var r = await response;
                answers[tenant].Add((r, await r.Json(), memory));
            }
        }
        return answers;
    }

    /// <summary>Waits for a state of the server's lanes (no timing asserted: a bound only, so that a bug fails rather than hangs).</summary>
    private static async Task UntilAsync(Func<bool> condition)
    {
        var bound = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < bound, "the lane never reached the state the test waits for");
            await Task.Delay(10);
        }
    }

    private static string? Content(object memory) => JsonSerializer.SerializeToElement(memory).GetProperty("content").GetString();

    private static string RequestId(HttpResponseMessage response) => Assert.Single(response.Headers.GetValues("X-Request-Id"));

    /// <summary>Each event of the stream: its user name and correlation id, as stored.</summary>
    private async Task<List<(string User, string Correlation)>> EventMetadataAsync(Guid stream)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new NpgsqlCommand("select user_name, correlation_id from aetherra.mt_events where stream_id = $1 order by version", db)
        {
            Parameters = { new() { Value = stream } }
        };
        await using var reader = await cmd.ExecuteReaderAsync();
        var found = new List<(string, string)>();
        while (await reader.ReadAsync()) found.Add((reader.GetString(0), reader.GetString(1)));
        return found;
    }

    private async Task<long> SequenceAsync(Guid stream)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new NpgsqlCommand("select max(seq_id) from aetherra.mt_events where stream_id = $1", db)
        {
            Parameters = { new() { Value = stream } }
        };
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<long> RecordedCountAsync(Guid stream)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new NpgsqlCommand("select count(*) from aetherra.mt_events where stream_id = $1 and type = $2", db)
        {
            Parameters = { new() { Value = stream }, new() { Value = MemoryTestSupport.Recorded } }
        };
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<long> TombstonesAsync(string tenant)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new NpgsqlCommand("select count(*) from aetherra.mt_events where tenant_id = $1 and type = 'tombstone'", db)
        {
            Parameters = { new() { Value = tenant } }
        };
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}

namespace Aetherra.Integration.Tests;

public sealed class MemorySubjectForgetTests(AetherraFixture fx)
{
    [Fact]
    public async Task forgetting_a_subject_forgets_each_of_its_memories_and_no_other()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var forgotten = new List<Guid>();
        foreach (var content in new[] { "Lou's diagnosis", "Lou's medication", "Lou's doctor" })
            forgotten.Add((await client.RecordAsync(Api.Memory(content, subject: "lou"))).Id);
        var (kept, _) = await client.RecordAsync(Api.Memory("Max's diagnosis", subject: "max"));

        var response = await client.DeleteAsync("/subjects/lou");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Json();
        Assert.Equal("lou", body.GetProperty("subject").GetString());
        Assert.Equal(3, body.GetProperty("memoriesForgotten").GetInt32());
        Assert.True(body.GetProperty("sequence").GetInt64() > 0);
        foreach (var id in forgotten)
        {
            var read = await client.ReadMemoryAsync(id);
            Assert.Equal("forgotten", read.GetProperty("status").GetString());
            Assert.Equal(JsonValueKind.Null, read.GetProperty("content").ValueKind);
        }
        var other = await client.ReadMemoryAsync(kept);
        Assert.Equal("active", other.GetProperty("status").GetString());
        Assert.Equal("Max's diagnosis", other.GetProperty("content").GetString());
    }

    /// <summary>
    /// The recall read model (recall_entries, and the lexemes in recall_terms) holds a subject's text by
    /// design while its key exists; once the projection has applied the forget, no table holds it.
    /// </summary>
    [Fact]
    public async Task a_subjects_plaintext_is_only_in_the_recall_read_model_and_nowhere_once_forgotten()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var marker = "plaintext-" + Guid.NewGuid().ToString("N");
        var subject = "nora-" + Guid.NewGuid().ToString("N")[..8];
        var (id, _) = await client.RecordAsync(Api.Memory($"Nora's secret is {marker}", subject: subject));
        Assert.Equal(HttpStatusCode.OK, (await client.ReviseAsync(id, $"Nora's secret is still {marker}")).StatusCode);
        var (_, recorded) = await client.RecordAsync(Api.Memory($"Nora's other secret {marker}", subject: subject, classification: "confidential"));
        Assert.Contains(marker, (await client.ReadMemoryAsync(id)).GetProperty("content").GetString());
        Assert.NotNull(await fx.SubjectKeyIdAsync(key.Tenant, subject));
        await client.RecallAsync(new { query = "Nora's secret", minSequence = recorded });

        var before = await fx.FindInEveryTableAsync(marker);
        var forgotten = await client.DeleteAsync($"/subjects/{subject}").SequenceOf();
        await client.RecallAsync(new { query = "Nora's secret", minSequence = forgotten });
        var after = await fx.FindInEveryTableAsync(marker);

        string[] recallModel = ["recall_entries", "recall_terms"];
        // Only RecallEntry holds plaintext: the live one, and any analysis copy a parallel test rebuilt meanwhile.
        Assert.All(before.Where(t => !recallModel.Contains(t.Key.Split('.')[^1])),
            t => Assert.True(t.Value == 0, $"{t.Key} holds the plaintext before forgetting"));
        Assert.True(before["recall_entries"] > 0);
        Assert.All(after, t => Assert.True(t.Value == 0, $"{t.Key} holds the plaintext after forgetting"));
        Assert.Null(await fx.SubjectKeyIdAsync(key.Tenant, subject));
        // The subject itself is stored in clear, so the search above does find what it is meant to look at.
        Assert.True((await fx.FindInEveryTableAsync(subject))["mt_events"] > 0);
    }

    [Fact]
    public async Task a_memory_recorded_after_its_subject_was_forgotten_is_readable_under_a_new_key()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (old, _) = await client.RecordAsync(Api.Memory("Oscar's old address", subject: "oscar"));
        var oldKey = await fx.SubjectKeyIdAsync(key.Tenant, "oscar");
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/subjects/oscar")).StatusCode);

        var (fresh, _) = await client.RecordAsync(Api.Memory("Oscar's new address", subject: "oscar"));

        Assert.Equal("Oscar's new address", (await client.ReadMemoryAsync(fresh)).GetProperty("content").GetString());
        var newKey = await fx.SubjectKeyIdAsync(key.Tenant, "oscar");
        Assert.NotNull(newKey);
        Assert.NotEqual(oldKey, newKey);
        var stale = await client.ReadMemoryAsync(old);
        Assert.Equal(JsonValueKind.Null, stale.GetProperty("content").ValueKind);
        Assert.Equal("forgotten", stale.GetProperty("status").GetString());
    }

    /// <summary>
    /// Writes seal with a key this process cached; a key destroyed behind the cache's back (another node of the
    /// cluster forgot the subject) must still win: the write's own transaction proves the key, finds it gone,
    /// and the write is retried under a new key instead of sealing content no one can read.
    /// </summary>
    [Fact]
    public async Task a_write_after_its_subjects_key_was_destroyed_elsewhere_is_sealed_under_a_new_key()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        await client.RecordAsync(Api.Memory("Quinn's first note", subject: "quinn"));
        var oldKey = await fx.SubjectKeyIdAsync(key.Tenant, "quinn");
        await using (var db = new Npgsql.NpgsqlConnection(fx.ConnectionString))
        {
            await db.OpenAsync();
            await using var delete = new Npgsql.NpgsqlCommand("delete from aetherra.subject_keys where tenant_id = $1 and subject = 'quinn'", db)
            {
                Parameters = { new() { Value = key.Tenant } }
            };
            Assert.Equal(1, await delete.ExecuteNonQueryAsync());
        }

        var single = await client.PostAsJsonAsync("/memories", Api.Memory("Quinn's second note", subject: "quinn"));
        var batch = await client.PostAsJsonAsync("/memories/batch", new { memories = new[] { Api.Memory("Quinn's third note", subject: "quinn") } });

        Assert.Equal(HttpStatusCode.Created, single.StatusCode);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var newKey = await fx.SubjectKeyIdAsync(key.Tenant, "quinn");
        Assert.NotNull(newKey);
        Assert.NotEqual(oldKey, newKey);
        Assert.Equal("Quinn's second note", (await client.ReadMemoryAsync((await single.Json()).GetProperty("id").GetGuid())).GetProperty("content").GetString());
        var third = (await batch.Json()).GetProperty("results")[0].GetProperty("id").GetGuid();
        Assert.Equal("Quinn's third note", (await client.ReadMemoryAsync(third)).GetProperty("content").GetString());
    }

    /// <summary>
    /// An import's first attempt copies its events in with sequences of its own; when its commit then fails (here: the
    /// subject's cached key was destroyed behind the cache's back), those sequences are written as Marten's tombstones, so
    /// the log keeps no gap for the async projections to wait out (Marten's stale-sequence threshold). The retry succeeds.
    /// </summary>
    [Fact]
    public async Task an_import_whose_first_attempt_fails_leaves_tombstones_for_the_sequences_it_copied()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        await client.RecordAsync(Api.Memory("Rosa's first note", subject: "rosa"));
        await using var db = new Npgsql.NpgsqlConnection(fx.ConnectionString);
        await db.OpenAsync();
        await using (var delete = new Npgsql.NpgsqlCommand("delete from aetherra.subject_keys where tenant_id = $1 and subject = 'rosa'", db)
                     { Parameters = { new() { Value = key.Tenant } } })
            Assert.Equal(1, await delete.ExecuteNonQueryAsync());

        var batch = await client.PostAsJsonAsync("/memories/batch", new
        {
            memories = new[] { Api.Memory("Rosa's second note", subject: "rosa"), Api.Memory("Rosa's third note", subject: "rosa"), Api.Memory("Rosa's fourth note", subject: "rosa") },
        });

        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var results = (await batch.Json()).GetProperty("results");
        Assert.Equal(3, results.GetArrayLength());
        await using var tombstones = new Npgsql.NpgsqlCommand(
            "select count(*) from aetherra.mt_events where type = 'tombstone' and tenant_id = $1", db) { Parameters = { new() { Value = key.Tenant } } };
        Assert.True((long)(await tombstones.ExecuteScalarAsync())! >= 3, "the three sequences the failed copy took are not tombstones");
        Assert.Equal("Rosa's fourth note", (await client.ReadMemoryAsync(results[2].GetProperty("id").GetGuid())).GetProperty("content").GetString());
    }

    [Fact]
    public async Task the_same_content_recorded_again_after_its_subject_was_forgotten_is_a_new_memory()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (old, _) = await client.RecordAsync(Api.Memory("Pam's blood type is 0+", subject: "pam"));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/subjects/pam")).StatusCode);

        var again = await client.PostAsJsonAsync("/memories", Api.Memory("Pam's blood type is 0+", subject: "pam"));

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.NotEqual(old, (await again.Json()).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task forgetting_a_subject_that_was_never_written_is_not_found()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).DeleteAsync("/subjects/nobody");

        // An erasure that erased nothing must not read as done (issue 13: a wrongly encoded subject did).
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task forgetting_a_subject_leaves_the_same_subject_of_another_tenant_alone()
    {
        var first = await fx.NewTenantAsync();
        var second = await fx.NewTenantAsync();
        await fx.Client(first.Key).RecordAsync(Api.Memory("Quentin's age", subject: "quentin"));
        var (theirs, _) = await fx.Client(second.Key).RecordAsync(Api.Memory("Quentin's age", subject: "quentin"));

        var response = await fx.Client(first.Key).DeleteAsync("/subjects/quentin");

        Assert.Equal(1, (await response.Json()).GetProperty("memoriesForgotten").GetInt32());
        var read = await fx.Client(second.Key).ReadMemoryAsync(theirs);
        Assert.Equal("Quentin's age", read.GetProperty("content").GetString());
        Assert.NotNull(await fx.SubjectKeyIdAsync(second.Tenant, "quentin"));
    }
}

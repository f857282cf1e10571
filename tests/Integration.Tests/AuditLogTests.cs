using Aetherra.Application.Audit.Log;
using Aetherra.Infrastructure.AuditLog;
using Npgsql;
using Wolverine.Marten;

namespace Aetherra.Integration.Tests;

/// <summary>
/// The Merkle log end to end. Verification covers the whole store, so every test that verifies or tampers is
/// in this one class (xunit runs a class's tests one at a time) and puts back what it changed.
/// </summary>
public sealed class AuditLogTests(AetherraFixture fx)
{
    private AuditLogStore Log => fx.Host.Services.GetRequiredService<AuditLogStore>();
    private CheckpointPublisher Publisher => fx.Host.Services.GetRequiredService<CheckpointPublisher>();

    private Task CatchUpAsync() => fx.Host.PauseThenCatchUpOnMartenDaemonActivityAsync();

    /// <summary>The log caught up with every committed event, and a checkpoint of it signed.</summary>
    private async Task<StoredCheckpoint> CheckpointAsync()
    {
        await CatchUpAsync();
        return (await Publisher.PublishAsync(force: true, default))!;
    }

    private async Task<JsonElement> VerifyAsync()
    {
        var response = await fx.Client(fx.AdminKey).PostAsync("/audit/verify", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Json();
    }

    private async Task<long> ExecuteAsync(string sql, params object[] args)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new NpgsqlCommand(sql, db);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return await cmd.ExecuteNonQueryAsync();
    }

    private static byte[][] Hashes(JsonElement body) =>
        body.GetProperty("hashes").EnumerateArray().Select(h => Convert.FromBase64String(h.GetString()!)).ToArray();

    [Fact]
    public async Task every_event_of_every_tenant_becomes_a_leaf_in_sequence_order_hashing_the_stored_row()
    {
        var a = fx.Client((await fx.NewTenantAsync()).Key);
        var b = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, first) = await a.RecordAsync(Api.Memory("Alice likes tea"));
        var (_, second) = await b.RecordAsync(Api.Memory("Bob likes coffee", subject: "bob"));
        await CatchUpAsync();

        var (size, last) = await Log.TipAsync(default);
        Assert.True(last >= second);
        await using var db = fx.OpenDatabase();
        await using var cmd = new NpgsqlCommand($"""
            select (select count(*) from aetherra.mt_events where seq_id <= $1),
                   (select count(*) from aetherra.audit_leaves),
                   (select bool_and(ordered) from (select sequence > lag(sequence, 1, 0::bigint) over (order by leaf_index) as ordered from aetherra.audit_leaves) o)
            """, db);
        cmd.Parameters.Add(new NpgsqlParameter { Value = last });
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(size, reader.GetInt64(0));
            Assert.Equal(size, reader.GetInt64(1));
            Assert.True(reader.GetBoolean(2));
        }
        foreach (var sequence in new[] { first, second })
        {
            var leaf = await Log.FindLeafAsync(sequence, null, default);
            var stored = await StoredEvents.FindAsync(fx.Host.Services.GetRequiredService<NpgsqlDataSource>(), sequence, default);
            Assert.NotNull(leaf);
            Assert.Equal(AuditLeafHasher.Hash(stored!), leaf.Value.LeafHash);
        }
    }

    [Fact]
    public async Task the_one_query_inclusion_proof_of_every_leaf_at_every_small_tree_size_verifies_against_the_stored_root()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        for (var i = 0; i < 3; i++) await client.RecordAsync(Api.Memory($"Carol note {i}", subject: "carol"));
        await CatchUpAsync();
        var (tip, _) = await Log.TipAsync(default);
        var sequences = new List<long>();
        await using (var db = fx.OpenDatabase())
        await using (var cmd = new NpgsqlCommand("select sequence from aetherra.audit_leaves where leaf_index < 70 order by leaf_index", db))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) sequences.Add(reader.GetInt64(0));

        for (var size = 1; size <= sequences.Count; size++)
        {
            var root = await Log.RootAsync(size, default);
            for (var index = 0; index < sequences.Count; index++)
            {
                var found = await Log.InclusionAsync(sequences[index], null, size, default);
                if (index >= size)
                {
                    Assert.Null(found);
                    continue;
                }
                Assert.NotNull(found);
                Assert.Equal(index, found.Value.LeafIndex);
                Assert.True(Merkle.VerifyInclusion(index, size, found.Value.LeafHash, found.Value.Proof, root), $"leaf {index} of {size}");
            }
        }
        // Far beyond the tree: other test classes append meanwhile, so tip + 1 may exist by now.
        Assert.Null(await Log.InclusionAsync(sequences[0], null, tip + 1_000_000, default));
    }

    [Fact]
    public async Task a_signed_checkpoint_and_the_proofs_of_an_event_verify_with_the_public_key_alone()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (_, before) = await client.RecordAsync(Api.Memory("The sky is blue"));
        var older = await CheckpointAsync();
        var (id, sequence) = await client.RecordAsync(Api.Memory("The sea is green"));
        await CheckpointAsync();

        var publicKey = await (await client.GetAsync("/audit/public-key")).Json();
        var checkpointResponse = await client.GetAsync("/audit/checkpoint");
        Assert.Equal("text/plain", checkpointResponse.Content.Headers.ContentType?.MediaType);
        var checkpoint = CheckpointNote.Open(await checkpointResponse.Content.ReadAsStringAsync(),
            publicKey.GetProperty("origin").GetString()!, Convert.FromBase64String(publicKey.GetProperty("publicKey").GetString()!));
        Assert.NotNull(checkpoint);
        Assert.True(checkpoint.TreeSize > older.TreeSize);

        var inclusion = await client.GetAsync($"/audit/proof/inclusion?sequence={sequence}&treeSize={checkpoint.TreeSize}");
        Assert.Equal(HttpStatusCode.OK, inclusion.StatusCode);
        var proof = await inclusion.Json();
        var leafHash = Convert.FromBase64String(proof.GetProperty("leafHash").GetString()!);
        Assert.True(Merkle.VerifyInclusion(proof.GetProperty("leafIndex").GetInt64(), checkpoint.TreeSize, leafHash, Hashes(proof), checkpoint.RootHash));
        Assert.False(Merkle.VerifyInclusion(proof.GetProperty("leafIndex").GetInt64(), checkpoint.TreeSize, leafHash, Hashes(proof), older.RootHash));
        var stored = await StoredEvents.FindAsync(fx.Host.Services.GetRequiredService<NpgsqlDataSource>(), sequence, default);
        Assert.Equal(AuditLeafHasher.Hash(stored!), leafHash);

        var atOlder = await (await client.GetAsync($"/audit/proof/inclusion?sequence={before}&treeSize={older.TreeSize}")).Json();
        Assert.True(Merkle.VerifyInclusion(atOlder.GetProperty("leafIndex").GetInt64(), older.TreeSize,
            Convert.FromBase64String(atOlder.GetProperty("leafHash").GetString()!), Hashes(atOlder), older.RootHash));

        var consistency = await client.GetAsync($"/audit/proof/consistency?from={older.TreeSize}&to={checkpoint.TreeSize}");
        Assert.Equal(HttpStatusCode.OK, consistency.StatusCode);
        var consistencyProof = Hashes(await consistency.Json());
        Assert.True(Merkle.VerifyConsistency(older.TreeSize, checkpoint.TreeSize, older.RootHash, checkpoint.RootHash, consistencyProof));
        Assert.NotEqual(Guid.Empty, id);
    }

    [Fact]
    public async Task another_tenants_event_has_no_inclusion_proof_and_bad_or_unscoped_asks_are_refused()
    {
        var owner = fx.Client((await fx.NewTenantAsync()).Key);
        var other = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, sequence) = await owner.RecordAsync(Api.Memory("Only mine"));
        var checkpoint = await CheckpointAsync();

        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/audit/proof/inclusion?sequence={sequence}&treeSize={checkpoint.TreeSize}")).StatusCode);
        await (await other.GetAsync($"/audit/proof/inclusion?sequence={sequence}&treeSize={checkpoint.TreeSize}")).AssertProblem(HttpStatusCode.NotFound);
        await (await owner.GetAsync($"/audit/proof/inclusion?sequence={sequence}&treeSize={checkpoint.TreeSize + 1_000_000}")).AssertProblem(HttpStatusCode.NotFound);
        await (await owner.GetAsync("/audit/proof/inclusion?treeSize=1")).AssertProblem(HttpStatusCode.BadRequest);
        await (await owner.GetAsync("/audit/proof/consistency?from=5&to=2")).AssertProblem(HttpStatusCode.BadRequest);
        var memoryOnly = fx.Client((await fx.NewTenantAsync("memory:read")).Key);
        await (await memoryOnly.GetAsync("/audit/checkpoint")).AssertProblem(HttpStatusCode.Forbidden);
        await (await owner.PostAsync("/audit/verify", null)).AssertProblem(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task an_untouched_log_verifies_and_forgetting_a_subject_keeps_it_verifiable()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        await client.RecordAsync(Api.Memory("Carol's secret", subject: "carol"));
        var before = await CheckpointAsync();
        var forget = await client.DeleteAsync("/subjects/carol");
        Assert.Equal(HttpStatusCode.OK, forget.StatusCode);
        var after = await CheckpointAsync();

        var report = await VerifyAsync();
        Assert.True(report.GetProperty("ok").GetBoolean(), report.ToString());
        Assert.True(report.GetProperty("treeSize").GetInt64() >= after.TreeSize);
        Assert.Equal(report.GetProperty("treeSize").GetInt64(), report.GetProperty("verifiedEvents").GetInt64());
        Assert.Equal(Convert.ToBase64String(await Log.RootAsync(report.GetProperty("treeSize").GetInt64(), default)), report.GetProperty("rootHash").GetString());
        var proof = await Log.ConsistencyProofAsync(before.TreeSize, after.TreeSize, default);
        Assert.True(Merkle.VerifyConsistency(before.TreeSize, after.TreeSize, before.RootHash, after.RootHash, proof));
    }

    [Fact]
    public async Task an_event_whose_data_was_updated_is_named_by_verification()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, sequence) = await client.RecordAsync(Api.Memory("An honest fact"));
        await CheckpointAsync();
        await using var db = fx.OpenDatabase();
        var original = (string)(await new NpgsqlCommand($"select data::text from aetherra.mt_events where seq_id = {sequence}", db).ExecuteScalarAsync())!;
        try
        {
            await ExecuteAsync("update aetherra.mt_events set data = jsonb_set(data, '{tampered}', 'true') where seq_id = $1", sequence);
            var report = await VerifyAsync();
            Assert.False(report.GetProperty("ok").GetBoolean());
            Assert.Equal(sequence, report.GetProperty("firstMismatch").GetInt64());
        }
        finally
        {
            await ExecuteAsync("update aetherra.mt_events set data = $2::jsonb where seq_id = $1", sequence, original);
        }
        Assert.True((await VerifyAsync()).GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task a_deleted_event_is_named_by_verification()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, sequence) = await client.RecordAsync(Api.Memory("Soon deleted"));
        await CheckpointAsync();
        var table = "aetherra.deleted_" + Guid.NewGuid().ToString("N")[..8];
        await ExecuteAsync($"create table {table} as select * from aetherra.mt_events where seq_id = {sequence}");
        try
        {
            Assert.Equal(1, await ExecuteAsync("delete from aetherra.mt_events where seq_id = $1", sequence));
            var report = await VerifyAsync();
            Assert.False(report.GetProperty("ok").GetBoolean());
            Assert.Equal(sequence, report.GetProperty("firstMismatch").GetInt64());
        }
        finally
        {
            await ExecuteAsync($"insert into aetherra.mt_events select * from {table}; drop table {table}");
        }
        Assert.True((await VerifyAsync()).GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task two_swapped_events_are_named_by_verification()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, first) = await client.RecordAsync(Api.Memory("First said"));
        var (_, second) = await client.RecordAsync(Api.Memory("Second said"));
        await CheckpointAsync();
        const string swap = """
            update aetherra.mt_events e set data = o.data
              from aetherra.mt_events o
             where (e.seq_id, o.seq_id) in (($1, $2), ($2, $1))
            """;
        try
        {
            Assert.Equal(2, await ExecuteAsync(swap, first, second));
            var report = await VerifyAsync();
            Assert.False(report.GetProperty("ok").GetBoolean());
            Assert.Equal(first, report.GetProperty("firstMismatch").GetInt64());
        }
        finally
        {
            await ExecuteAsync(swap, first, second);
        }
        Assert.True((await VerifyAsync()).GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task an_altered_checkpoint_or_one_signed_by_another_key_fails_verification()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        await client.RecordAsync(Api.Memory("Checked fact"));
        var checkpoint = await CheckpointAsync();
        var forged = Convert.ToBase64String(Merkle.LeafHash("forged"u8));
        try
        {
            await ExecuteAsync("update aetherra.audit_checkpoints set note = replace(note, $2, $3), root_hash = $4 where tree_size = $1",
                checkpoint.TreeSize, Convert.ToBase64String(checkpoint.RootHash), forged, Convert.FromBase64String(forged));
            var report = await VerifyAsync();
            Assert.False(report.GetProperty("ok").GetBoolean());
            Assert.Contains($"tree size {checkpoint.TreeSize}", report.GetProperty("problem").GetString());
        }
        finally
        {
            await ExecuteAsync("update aetherra.audit_checkpoints set note = $2, root_hash = $3 where tree_size = $1",
                checkpoint.TreeSize, checkpoint.Note, checkpoint.RootHash);
        }
        Assert.True((await VerifyAsync()).GetProperty("ok").GetBoolean());

        var settings = fx.Host.Services.GetRequiredService<AuditLogSettings>();
        using var stranger = new AuditSigner(settings with { SigningSeed = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32) });
        await using var db = fx.OpenDatabase();
        var size = (long)(await new NpgsqlCommand(
            $"select max(s)::bigint from generate_series(1, {checkpoint.TreeSize}) s where not exists (select from aetherra.audit_checkpoints c where c.tree_size = s)",
            db).ExecuteScalarAsync())!;
        var root = await Log.RootAsync(size, default);
        try
        {
            await Log.SaveCheckpointAsync(new StoredCheckpoint(size, root, stranger.Sign(size, root), DateTimeOffset.UtcNow), default);
            var report = await VerifyAsync();
            Assert.False(report.GetProperty("ok").GetBoolean());
            Assert.Contains($"tree size {size}", report.GetProperty("problem").GetString());
        }
        finally
        {
            await ExecuteAsync("delete from aetherra.audit_checkpoints where tree_size = $1 and note = $2", size, stranger.Sign(size, root));
        }
    }

    [Fact]
    public async Task the_independent_verifier_in_ops_accepts_a_real_proof_and_refuses_a_changed_one()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, sequence) = await client.RecordAsync(Api.Memory("Checked by an outsider"));
        var checkpoint = await CheckpointAsync();
        var dir = Directory.CreateTempSubdirectory("aetherra-verify-");
        try
        {
            var key = Path.Combine(dir.FullName, "key.json");
            var note = Path.Combine(dir.FullName, "checkpoint.txt");
            var proof = Path.Combine(dir.FullName, "proof.json");
            await File.WriteAllTextAsync(key, await client.GetStringAsync("/audit/public-key"));
            await File.WriteAllTextAsync(note, checkpoint.Note);
            var proofJson = await client.GetStringAsync($"/audit/proof/inclusion?sequence={sequence}&treeSize={checkpoint.TreeSize}");
            await File.WriteAllTextAsync(proof, proofJson);
            var (valid, output) = await RunVerifierAsync(key, note, proof);
            Assert.True(valid, output);
            Assert.StartsWith("valid", output);

            var leafHash = JsonDocument.Parse(proofJson).RootElement.GetProperty("leafHash").GetString()!;
            await File.WriteAllTextAsync(proof, proofJson.Replace(leafHash, Convert.ToBase64String(Merkle.LeafHash("other"u8))));
            (valid, output) = await RunVerifierAsync(key, note, proof);
            Assert.False(valid, output);
            Assert.StartsWith("invalid", output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(bool Valid, string Output)> RunVerifierAsync(params string[] args)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Aetherra.sln"))) root = root.Parent!;
        var start = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(root.FullName, "ops", "audit-verify"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode == 0, output);
    }

    [Fact]
    public async Task rebuilding_the_log_reproduces_the_same_roots()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, sequence) = await client.RecordAsync(Api.Memory("Before the rebuild"));
        var before = await CheckpointAsync();
        // A damaged leaf that only a rebuild from the events can repair: proof that the rebuild really ran.
        await ExecuteAsync("update aetherra.audit_leaves set leaf_hash = $2 where sequence = $1", sequence, new byte[32]);

        var agents = fx.Host.Services.GetRequiredService<Wolverine.Runtime.Agents.IEventSubscriptionAgentFamily>();
        Assert.True(await agents.TryRebuildRegisteredProjectionAsync($"{AuditLogProjection.Name}:All", null));
        await client.RecordAsync(Api.Memory("After the rebuild"));
        var after = await CheckpointAsync();

        Assert.True(after.TreeSize > before.TreeSize);
        Assert.Equal(before.RootHash, await Log.RootAsync(before.TreeSize, default));
        var stored = await StoredEvents.FindAsync(fx.Host.Services.GetRequiredService<NpgsqlDataSource>(), sequence, default);
        Assert.Equal(AuditLeafHasher.Hash(stored!), (await Log.FindLeafAsync(sequence, null, default))!.Value.LeafHash);
        var report = await VerifyAsync();
        Assert.True(report.GetProperty("ok").GetBoolean(), report.ToString());
    }
}

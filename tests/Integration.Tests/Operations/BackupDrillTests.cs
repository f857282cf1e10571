using System.Net.Http.Headers;
using Aetherra.Testing;
using Npgsql;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// The backup drill: a small store on a real server (memories, a decision with its outcome, a subject
/// forgotten), ops/backup while it runs, a wipe (the database dropped), ops/restore into a fresh database,
/// then the checks an operator relies on: the same Merkle root at the same size (ops/restore runs
/// `aetherra audit verify`), every async read model equal to a rebuild from the restored log, the forgotten
/// subject still unreadable, and nothing written after the backup's snapshot in the restored store.
/// </summary>
public sealed class BackupDrillTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_restored_backup_has_the_same_root_the_same_read_models_and_forgets_what_was_forgotten()
    {
        var ct = TestContext.Current.CancellationToken;
        var work = Directory.CreateTempSubdirectory("aetherra-drill-").FullName;
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var auditKeyFile = Path.Combine(work, "audit.key");
        var masterKeyFile = Path.Combine(work, "master.key");
        await File.WriteAllTextAsync(auditKeyFile, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), ct);
        await File.WriteAllTextAsync(masterKeyFile, masterKey, ct);
        var environment = new Dictionary<string, string>
        {
            ["AETHERRA_AUDIT_KEY_FILE"] = auditKeyFile, ["AETHERRA_AUDIT_CHECKPOINT_SECONDS"] = "1",
            ["AETHERRA_VITALS_SECONDS"] = "0", ["AETHERRA_EMBEDDINGS"] = "off",
        };

        // A small store.
        var database = await fx.NewDatabaseAsync();
        string adminKey, key;
        Guid kept, forgotten, decision;
        long last;
        var original = await ServerProcess.StartAsync(AetherraFixture.ApiDll(), database, work, ct, environment, masterKey);
        await using (original)
        {
            adminKey = original.AdminKey;
            key = await original.NewKeyAsync("drill", "drill", ["memory:read", "memory:write", "decisions:read", "decisions:write", "audit:read"], ct);
            var http = Client(original, key);
            (kept, _) = await http.RecordAsync(Api.Memory("Quinn keeps bees on the roof", subject: "quinn"));
            (forgotten, _) = await http.RecordAsync(Api.Memory("Rafa hides the spare key under the mat", subject: "rafa"));
            var proposed = await (await http.PostAsJsonAsync("/decisions", new
            {
                agent = "assistant", category = "garden", action = "water the plants", confidence = 0.9, rationale = "dry week", risk = "low",
                evidence = new[] { new { memoryId = kept, version = 1 } },
            }, ct)).Json();
            decision = proposed.GetProperty("id").GetGuid();
            await http.PostAsJsonAsync($"/decisions/{decision}/outcome", new { success = true, score = 0.8 }, ct);
            var forget = await http.DeleteAsync("/subjects/rafa", ct);
            Assert.Equal(HttpStatusCode.OK, forget.StatusCode);
            last = (await forget.Json()).GetProperty("sequence").GetInt64();
            // The async read models and the Merkle log have caught up with the store.
            await http.RecallAsync(new { query = "bees", minSequence = last });
            await WaitForCheckpointAsync(Client(original, adminKey), last, ct);

            var backup = await OpsScripts.RunAsync("bash", [OpsScripts.Script("backup"), Path.Combine(work, "backup")], new Dictionary<string, string?>
            {
                ["AETHERRA_DB"] = database, ["AETHERRA_MASTER_KEY_FILE"] = masterKeyFile, ["AETHERRA_AUDIT_KEY_FILE"] = auditKeyFile,
            }, ct);
            Assert.True(backup.ExitCode == 0, backup.ToString());
            // Written after the snapshot: not in the backup.
            await http.RecordAsync(Api.Memory("Quinn sold the honey at the market", subject: "quinn"));
        }
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(work, "backup", "backup.json"), ct)).RootElement;
        var sequence = manifest.GetProperty("sequence").GetInt64();
        Assert.True(sequence >= last);
        Assert.Equal(manifest.GetProperty("treeSize").GetInt64(), manifest.GetProperty("checkpoint").GetProperty("treeSize").GetInt64());

        // Wipe, then restore into a fresh database (ops/restore checks the figures and runs audit verify).
        await fx.DropDatabaseAsync(database);
        var restoredDb = await fx.NewDatabaseAsync();
        var state = Path.Combine(work, "restored-state");
        var restore = await OpsScripts.RunAsync("bash", [OpsScripts.Script("restore"), Path.Combine(work, "backup")], new Dictionary<string, string?>
        {
            ["AETHERRA_DB"] = restoredDb, ["AETHERRA_STATE_DIR"] = state, ["AETHERRA_API_DLL"] = AetherraFixture.ApiDll(),
        }, ct);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Contains($"ok=True treeSize={manifest.GetProperty("treeSize").GetInt64()} rootHash={manifest.GetProperty("rootHash").GetString()}", restore.Stderr);

        var restoredModels = await ReadModels.SnapshotAsync(restoredDb, "aetherra", ct);
        await using (var db = new NpgsqlConnection(restoredDb))
        {
            await db.OpenAsync(ct);
            await using var max = new NpgsqlCommand("select max(seq_id) from aetherra.mt_events", db);
            Assert.Equal(sequence, (long)(await max.ExecuteScalarAsync(ct))!);
        }

        var restoredServer = await ServerProcess.StartAsync(AetherraFixture.ApiDll(), restoredDb, work, ct, new Dictionary<string, string>(environment)
        {
            ["AETHERRA_AUDIT_KEY_FILE"] = Path.Combine(state, "audit.key"),
        }, (await File.ReadAllTextAsync(Path.Combine(state, "master.key"), ct)).Trim());
        await using (restoredServer)
        {
            // The keys came back with the store: the same API keys work.
            var http = Client(restoredServer, key);
            Assert.Equal("Quinn keeps bees on the roof", (await http.ReadMemoryAsync(kept)).GetProperty("content").GetString());
            var gone = await http.ReadMemoryAsync(forgotten);
            Assert.Equal("forgotten", gone.GetProperty("status").GetString());
            Assert.True(gone.GetProperty("content").ValueKind == JsonValueKind.Null, gone.ToString());
            Assert.Empty(await http.RecallAsync(new { query = "spare key mat", subject = "rafa" }));
            Assert.DoesNotContain(await http.RecallAsync(new { query = "honey market" }),
                r => r.GetProperty("content").GetString()!.Contains("honey"));
            var stored = await (await http.GetAsync($"/decisions/{decision}", ct)).Json();
            Assert.Equal("resolved", stored.GetProperty("status").GetString());

            // Every async read model equals a rebuild of it from the restored log, as of the backup's sequence.
            await ReadModels.AssertEqualToRebuildsAsync(Client(restoredServer, adminKey), restoredDb, restoredModels, sequence, ct);
        }
        Directory.Delete(work, recursive: true);
    }

    internal static HttpClient Client(ServerProcess server, string key)
    {
        var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>Polls the signed checkpoint (signed every second here) until it covers the sequence.</summary>
    internal static async Task WaitForCheckpointAsync(HttpClient admin, long sequence, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            var response = await admin.GetAsync("/audit/checkpoint", ct);
            if (response.StatusCode == HttpStatusCode.OK && long.Parse((await response.Content.ReadAsStringAsync(ct)).Split('\n')[1]) >= sequence) return;
            Assert.True(DateTimeOffset.UtcNow < deadline, "no checkpoint covered the last write within 60 s");
            await Task.Delay(100, ct);
        }
    }

}

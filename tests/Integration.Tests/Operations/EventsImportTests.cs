using Aetherra.Integration.Tests.Changes;
using Aetherra.Integration.Tests.Decisions;
using Aetherra.Integration.Tests.Tasks;
using Aetherra.Testing;
using Npgsql;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// `aetherra events import`: a store exported with `aetherra events export` and imported into a fresh database has
/// the same Merkle root at the same size (`aetherra audit verify` says so) and the same read models, rebuilt from
/// the imported log; a file changed by one byte, and a store that is not empty, are refused.
/// </summary>
public sealed class EventsImportTests(AetherraFixture fx)
{
    private static Dictionary<string, string?> Env(string database) => new() { ["AETHERRA_DB"] = database, ["AETHERRA_EMBEDDINGS"] = "off" };

    [Fact]
    public async Task an_exported_log_imported_into_a_fresh_store_verifies_to_the_same_root_with_the_same_read_models()
    {
        var ct = TestContext.Current.CancellationToken;
        var work = Directory.CreateTempSubdirectory("aetherra-import-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["AETHERRA_AUDIT_CHECKPOINT_SECONDS"] = "1", ["AETHERRA_VITALS_SECONDS"] = "0", ["AETHERRA_EMBEDDINGS"] = "off",
        };
        var source = await fx.NewDatabaseAsync();
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using (var server = await ServerProcess.StartAsync(AetherraFixture.ApiDll(), source, work, ct, environment, masterKey))
        {
            var key = await server.NewKeyAsync("import", "import", [.. TaskSupport.AllScopes, .. ChangeSupport.AllScopes], ct);
            var http = BackupDrillTests.Client(server, key);
            var (kept, _) = await http.RecordAsync(Api.Memory("Quinn keeps bees on the roof", subject: "quinn"));
            await http.RecordAsync(Api.Memory("Rafa hides the spare key under the mat", subject: "rafa"));
            await http.PostAsync("/decisions", new
            {
                agent = "assistant", category = "garden", action = "water the plants", confidence = 0.9, rationale = "dry week", risk = "low",
                evidence = new[] { new { memoryId = kept, version = 1 } },
            }, HttpStatusCode.Created);
            var task = await http.CreateTaskAsync(new { title = "weed the beds", priority = 7 });
            await http.ClaimAsync("gardener");
            await http.PostAsync($"/tasks/{task}/complete", new { agent = "gardener", attempt = 1 });
            await http.ProposeChangeAsync();
            var forget = await http.DeleteAsync("/subjects/rafa", ct);
            Assert.Equal(HttpStatusCode.OK, forget.StatusCode);
            var last = (await forget.Json()).GetProperty("sequence").GetInt64();
            await BackupDrillTests.WaitForCheckpointAsync(BackupDrillTests.Client(server, server.AdminKey), last, ct);
            await AsyncProjectionsReachAsync(BackupDrillTests.Client(server, server.AdminKey), last, ct);
        }

        var file = Path.Combine(work, "events.jsonl");
        var export = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "events", "export", "--to", file], Env(source), ct);
        Assert.True(export.ExitCode == 0, export.ToString());
        var trailer = JsonDocument.Parse(File.ReadLines(file).Last()).RootElement.GetProperty("trailer");

        var target = await fx.NewDatabaseAsync();
        var import = await OpsScripts.RunAsync("dotnet",
            [AetherraFixture.ApiDll(), "events", "import", "--from", file, "--public-key", trailer.GetProperty("publicKey").GetString()!], Env(target), ct);
        Assert.True(import.ExitCode == 0, import.ToString());

        var verify = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "audit", "verify"], Env(target), ct);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var report = JsonDocument.Parse(verify.Stdout.Trim().Split('\n').Last()).RootElement;
        Assert.Equal(trailer.GetProperty("rootHash").GetString(), report.GetProperty("rootHash").GetString());
        Assert.Equal(trailer.GetProperty("treeSize").GetInt64(), report.GetProperty("treeSize").GetInt64());

        // Every read model the import rebuilt equals the original's; recall is left out: its text is opened with the
        // subjects' data keys, which an event export does not carry (ops/backup does).
        var original = await ReadModels.SnapshotAsync(source, "aetherra", ct);
        var imported = await ReadModels.SnapshotAsync(target, "aetherra", ct);
        var compared = 0;
        foreach (var (table, rows) in original.Where(t => !t.Key.StartsWith("recall_", StringComparison.Ordinal) && t.Value.Count > 0))
        {
            var now = imported.GetValueOrDefault(table) ?? [];
            Assert.True(rows.SequenceEqual(now), $"{table} differs after the import:\nimported {string.Join("\n", now.Except(rows))}\noriginal {string.Join("\n", rows.Except(now))}");
            compared++;
        }
        Assert.True(compared >= 5, $"only {compared} read models compared: {string.Join(", ", original.Keys)}");

        // Importing again into the now non-empty store is refused, and writes nothing.
        var again = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "events", "import", "--from", file], Env(target), ct);
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("the store is not empty", again.Stderr + again.Stdout);
        await fx.DropDatabaseAsync(source);
        await fx.DropDatabaseAsync(target);
        Directory.Delete(work, recursive: true);
    }

    [Fact]
    public async Task a_file_changed_by_one_byte_is_refused_before_the_store_is_touched()
    {
        var ct = TestContext.Current.CancellationToken;
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, last) = await client.RecordAsync(Api.Memory("Sol repairs bicycles", subject: "sol"));
        await fx.WaitForProjectionAsync(Aetherra.Application.Audit.Log.AuditLogProjection.Name, last);
        var file = Path.Combine(Directory.CreateTempSubdirectory("aetherra-import-").FullName, "events.jsonl");
        var export = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "events", "export", "--to", file], Env(fx.ConnectionString), ct);
        Assert.True(export.ExitCode == 0, export.ToString());
        // One digit of the last event's timestamp, changed.
        var bytes = await File.ReadAllBytesAsync(file, ct);
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        var at = text.LastIndexOf("\"timestampMicros\":", StringComparison.Ordinal) + "\"timestampMicros\":".Length + 3;
        bytes[at] = (byte)(bytes[at] == (byte)'7' ? '8' : '7');
        await File.WriteAllBytesAsync(file, bytes, ct);

        var target = await fx.NewDatabaseAsync();
        var import = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "events", "import", "--from", file], Env(target), ct);
        Assert.NotEqual(0, import.ExitCode);
        Assert.Contains("import refused", import.Stderr + import.Stdout);
        await using var db = new NpgsqlConnection(target);
        await db.OpenAsync(ct);
        await using var tables = new NpgsqlCommand("select count(*) from information_schema.tables where table_schema = 'aetherra' and table_name = 'mt_events'", db);
        Assert.Equal(0L, (long)(await tables.ExecuteScalarAsync(ct))!);
        await fx.DropDatabaseAsync(target);
    }

    /// <summary>Waits until every async projection of the server (GET /admin/projections) has reached the sequence.</summary>
    private static async Task AsyncProjectionsReachAsync(HttpClient operatorClient, long sequence, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(120);
        while (true)
        {
            var projections = (await (await operatorClient.GetAsync("/admin/projections", ct)).Json()).EnumerateArray()
                .Where(p => p.GetProperty("lifecycle").GetString() == "async").ToList();
            if (projections.Count > 0 && projections.All(p => p.GetProperty("position") is { ValueKind: JsonValueKind.Number } at && at.GetInt64() >= sequence)) return;
            Assert.True(DateTimeOffset.UtcNow < deadline,
                $"the async projections did not reach {sequence} within 120 s: {string.Join(", ", projections.Select(p => p.ToString()))}");
            await Task.Delay(200, ct);
        }
    }
}

using Aetherra.Application.Audit.Log;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// `aetherra export`: a tenant's conversations, memories and decisions as of a sequence, as JSON Lines with a manifest; the same
/// sequence gives byte-identical files with writes in between; forgotten subjects never appear.
/// </summary>
public sealed class TrainingExportTests(AetherraFixture fx)
{
    private async Task<(OpsScripts.Outcome Outcome, string Dir)> ExportAsync(string tenant, long? asOf, string datasets = "decisions,memories")
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory("aetherra-export-").FullName, "out");
        string[] args = [AetherraFixture.ApiDll(), "export", "--tenant", tenant, "--out", dir, "--datasets", datasets];
        if (asOf is { } s) args = [.. args, "--as-of-sequence", s.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        var outcome = await OpsScripts.RunAsync("dotnet", args, new Dictionary<string, string?> { ["AETHERRA_DB"] = fx.ConnectionString },
            TestContext.Current.CancellationToken);
        return (outcome, dir);
    }

    [Fact]
    public async Task two_exports_at_the_same_sequence_are_byte_identical_and_leave_forgotten_subjects_out()
    {
        var ct = TestContext.Current.CancellationToken;
        var tenant = await fx.NewTenantAsync("memory:read", "memory:write", "decisions:read", "decisions:write");
        var client = fx.Client(tenant.Key);
        var (bees, _) = await client.RecordAsync(Api.Memory("Tove keeps bees behind the barn", subject: "tove"));
        await client.ReviseAsync(bees, "Tove keeps three hives behind the barn");
        var (secret, _) = await client.RecordAsync(Api.Memory("Ugo's password hint is his cat", subject: "ugo"));
        var proposed = await (await client.PostAsJsonAsync("/decisions", new
        {
            agent = "assistant", category = "farm", action = "order more frames", confidence = 0.9, rationale = "hives grow", risk = "low",
            evidence = new[] { new { memoryId = bees, version = 1 } },
        }, ct)).Json();
        var decision = proposed.GetProperty("id").GetGuid();
        var outcome = await (await client.PostAsJsonAsync($"/decisions/{decision}/outcome", new { success = true, score = 0.7 }, ct)).Json();
        var forgot = await client.DeleteAsync("/subjects/ugo", ct);
        Assert.Equal(HttpStatusCode.OK, forgot.StatusCode);
        var asOf = outcome.GetProperty("sequence").GetInt64();
        await fx.WaitForProjectionAsync(AuditLogProjection.Name, (await forgot.Json()).GetProperty("sequence").GetInt64());

        var (first, firstDir) = await ExportAsync(tenant.Tenant, asOf);
        Assert.True(first.ExitCode == 0, first.ToString());
        // Writes in between: a new memory, a revision of an exported one.
        var (later, afterSequence) = await client.RecordAsync(Api.Memory("Tove sold honey at the fair", subject: "tove"));
        await client.ReviseAsync(bees, "Tove keeps four hives now");
        await fx.WaitForProjectionAsync(AuditLogProjection.Name, afterSequence + 1);
        var (second, secondDir) = await ExportAsync(tenant.Tenant, asOf);
        Assert.True(second.ExitCode == 0, second.ToString());

        foreach (var name in new[] { "decisions.jsonl", "memories.jsonl", "manifest.json" })
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(firstDir, name), ct), await File.ReadAllBytesAsync(Path.Combine(secondDir, name), ct));

        var memories = (await File.ReadAllLinesAsync(Path.Combine(firstDir, "memories.jsonl"), ct)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var memory = Assert.Single(memories);
        Assert.Equal(bees, memory.GetProperty("id").GetGuid());
        Assert.Equal("Tove keeps three hives behind the barn", memory.GetProperty("content").GetString());
        Assert.Equal(3, memory.GetProperty("version").GetInt32()); // recorded, revised, reinforced by the decision citing it
        var all = string.Concat(await File.ReadAllTextAsync(Path.Combine(firstDir, "memories.jsonl"), ct), await File.ReadAllTextAsync(Path.Combine(firstDir, "decisions.jsonl"), ct));
        Assert.DoesNotContain("ugo", all);
        Assert.DoesNotContain(secret.ToString(), all);
        Assert.DoesNotContain(later.ToString(), all);

        var exported = JsonDocument.Parse(Assert.Single(await File.ReadAllLinesAsync(Path.Combine(firstDir, "decisions.jsonl"), ct))).RootElement;
        Assert.Equal("resolved", exported.GetProperty("status").GetString());
        Assert.True(exported.GetProperty("outcome").GetProperty("success").GetBoolean());
        var evidence = Assert.Single(exported.GetProperty("evidence").EnumerateArray().ToList());
        Assert.Equal("Tove keeps bees behind the barn", evidence.GetProperty("content").GetString()); // as of the cited version

        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(firstDir, "manifest.json"), ct)).RootElement;
        Assert.Equal(asOf, manifest.GetProperty("asOfSequence").GetInt64());
        foreach (var file in manifest.GetProperty("files").EnumerateArray())
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(firstDir, file.GetProperty("name").GetString()!), ct);
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), file.GetProperty("sha256").GetString());
            Assert.Equal(bytes.Count(b => b == (byte)'\n'), file.GetProperty("rows").GetInt64());
        }
        // The root is the log's at that size: the proofs the server gives lead to it.
        var store = fx.Host.Services.GetRequiredService<Aetherra.Infrastructure.AuditLog.AuditLogStore>();
        Assert.Equal(manifest.GetProperty("rootHash").GetString(),
            Convert.ToBase64String(await store.RootAsync(manifest.GetProperty("treeSize").GetInt64(), ct)));
    }

    [Fact]
    public async Task an_unknown_dataset_is_refused_with_the_known_ones_named()
    {
        var tenant = await fx.NewTenantAsync();
        var (outcome, _) = await ExportAsync(tenant.Tenant, null, "secrets,memories");
        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("datasets are conversations, decisions, memories; not secrets", outcome.Stderr + outcome.Stdout);
    }
}

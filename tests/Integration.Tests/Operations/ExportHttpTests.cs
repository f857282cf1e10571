using Aetherra.Application.Audit.Log;
using Aetherra.Integration.Tests.Conversations;
using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// POST /exports runs a training export as a job; GET /exports/{id} gives its manifest and /files/{name} its bytes.
/// The same sequence gives the same bytes, with writes in between and through the command line alike; forgotten
/// subjects never appear; another tenant sees nothing of it.
/// </summary>
public sealed class ExportHttpTests(AetherraFixture fx)
{
    private static readonly string[] Datasets = ["conversations", "decisions", "memories"];

    /// <summary>Tove's bees (kept) and Ugo's secrets (forgotten): memories, a decision and a conversation each.</summary>
    private async Task<(TenantKey Admin, HttpClient Client, long Forgot)> StoreAsync()
    {
        var admin = await fx.NewTenantAsync("admin");
        var client = fx.Client(admin.Key);
        var (bees, _) = await client.RecordAsync(Api.Memory("Tove keeps bees behind the barn", subject: "tove"));
        await client.RecordAsync(Api.Memory("Ugo's password hint is his cat", subject: "ugo.secret"));
        await client.PostAsync("/decisions", new
        {
            agent = "assistant", category = "farm", action = "order more frames", confidence = 0.9, rationale = "hives grow", risk = "low",
            evidence = new[] { new { memoryId = bees, version = 1 } },
        }, HttpStatusCode.Created);
        var tove = await client.StartConversationAsync(subject: "tove", title: "bee talk");
        await client.AddTurnAsync(tove, "user", "How many hives should Tove keep?");
        await client.AddTurnAsync(tove, "assistant", "Three hives suit a barn of that size.");
        var ugo = await client.StartConversationAsync(subject: "ugo.secret", title: "Ugo's accounts");
        await client.AddTurnAsync(ugo, "user", "Ugo's bank PIN is 4711");
        var forgot = await client.DeleteAsync("/subjects/ugo.secret");
        Assert.Equal(HttpStatusCode.OK, forgot.StatusCode);
        var sequence = (await forgot.Json()).GetProperty("sequence").GetInt64();
        await fx.WaitForProjectionAsync(AuditLogProjection.Name, sequence);
        return (admin, client, sequence);
    }

    private static async Task<JsonElement> FinishedAsync(HttpClient client, Guid id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var export = await client.GetOkAsync($"/exports/{id}");
            if (export.Str("status") != "running") return export;
            Assert.True(DateTime.UtcNow < deadline, "the export job did not finish within 60 s");
            await Task.Delay(50);
        }
    }

    private static async Task<(JsonElement Export, Dictionary<string, byte[]> Files)> ExportAsync(HttpClient client, long? asOfSequence)
    {
        var started = await client.PostAsync("/exports", new { datasets = Datasets, asOfSequence }, HttpStatusCode.Accepted);
        var export = await FinishedAsync(client, started.Id());
        Assert.Equal("succeeded", export.Str("status"));
        Assert.Equal(started.GetProperty("asOfSequence").GetInt64(), export.GetProperty("asOfSequence").GetInt64());
        var files = new Dictionary<string, byte[]>();
        foreach (var name in export.GetProperty("files").EnumerateArray().Select(f => f.Str("name")).Append("manifest.json"))
        {
            var response = await client.GetAsync($"/exports/{started.Id()}/files/{name}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            files[name] = await response.Content.ReadAsByteArrayAsync();
        }
        return (export, files);
    }

    [Fact]
    public async Task two_exports_at_the_same_sequence_are_byte_identical_with_writes_between_and_equal_the_command_lines()
    {
        var (admin, client, forgot) = await StoreAsync();
        var (first, firstFiles) = await ExportAsync(client, asOfSequence: null);
        var asOf = first.GetProperty("asOfSequence").GetInt64();
        Assert.True(asOf >= forgot);
        Assert.Equal(["conversations.jsonl", "decisions.jsonl", "memories.jsonl"], first.GetProperty("files").EnumerateArray().Select(f => f.Str("name")));
        foreach (var file in first.GetProperty("files").EnumerateArray())
        {
            var bytes = firstFiles[file.Str("name")];
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), file.Str("sha256"));
            Assert.Equal(bytes.Count(b => b == (byte)'\n'), file.GetProperty("rows").GetInt64());
        }
        var store = fx.Host.Services.GetRequiredService<Aetherra.Infrastructure.AuditLog.AuditLogStore>();
        Assert.Equal(first.Str("rootHash"), Convert.ToBase64String(await store.RootAsync(first.GetProperty("treeSize").GetInt64(), TestContext.Current.CancellationToken)));

        // Writes in between: a new memory, a new turn in the exported conversation, another conversation.
        var (_, later) = await client.RecordAsync(Api.Memory("Tove sold honey at the fair", subject: "tove"));
        var more = await client.StartConversationAsync(subject: "tove", title: "after the export");
        await client.AddTurnAsync(more, "user", "Did the honey sell?");
        await fx.WaitForProjectionAsync(AuditLogProjection.Name, later);
        var (second, secondFiles) = await ExportAsync(client, asOf);
        Assert.NotEqual(first.Id(), second.Id());
        Assert.Equal(firstFiles.Keys.Order(), secondFiles.Keys.Order());
        foreach (var (name, bytes) in firstFiles) Assert.Equal(bytes, secondFiles[name]);

        // The command line writes the same bytes: one implementation.
        var dir = Path.Combine(Directory.CreateTempSubdirectory("aetherra-export-").FullName, "out");
        var cli = await OpsScripts.RunAsync("dotnet",
            [AetherraFixture.ApiDll(), "export", "--tenant", admin.Tenant, "--out", dir, "--datasets", string.Join(',', Datasets),
             "--as-of-sequence", asOf.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { ["AETHERRA_DB"] = fx.ConnectionString }, TestContext.Current.CancellationToken);
        Assert.True(cli.ExitCode == 0, cli.ToString());
        foreach (var (name, bytes) in firstFiles) Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(dir, name)));
    }

    [Fact]
    public async Task forgotten_subjects_never_appear_and_kept_conversations_come_with_their_turns()
    {
        var (_, client, _) = await StoreAsync();
        var (_, files) = await ExportAsync(client, asOfSequence: null);
        var all = string.Concat(files.Values.Select(System.Text.Encoding.UTF8.GetString));
        // Strings with a character (a dot, a space) that no base64 or hex hash in the files can hold by chance.
        Assert.DoesNotContain("ugo.secret", all, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("password hint", all);
        Assert.DoesNotContain("PIN is 4711", all);

        var conversation = JsonDocument.Parse(Assert.Single(System.Text.Encoding.UTF8.GetString(files["conversations.jsonl"])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries))).RootElement;
        Assert.Equal("tove", conversation.Str("subject"));
        Assert.Equal(["How many hives should Tove keep?", "Three hives suit a barn of that size."],
            conversation.GetProperty("turns").EnumerateArray().Select(t => t.Str("content")));
        Assert.Equal(["user", "assistant"], conversation.GetProperty("turns").EnumerateArray().Select(t => t.Str("role")));
    }

    [Fact]
    public async Task another_tenant_sees_nothing_of_an_export_and_it_takes_the_admin_scope()
    {
        var (_, client, _) = await StoreAsync();
        var started = await client.PostAsync("/exports", new { datasets = new[] { "memories" } }, HttpStatusCode.Accepted);
        await FinishedAsync(client, started.Id());
        var stranger = fx.Client((await fx.NewTenantAsync("admin")).Key);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/exports/{started.Id()}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/exports/{started.Id()}/files/memories.jsonl")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/exports/{started.Id()}/files/manifest.json")).StatusCode);

        var reader = fx.Client((await fx.NewTenantAsync("memory:read", "memory:write", "decisions:read", "conversations:read")).Key);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/exports", new { datasets = new[] { "memories" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.GetAsync($"/exports/{started.Id()}")).StatusCode);
    }

    [Fact]
    public async Task bad_requests_are_4xx_and_start_nothing()
    {
        var admin = await fx.NewTenantAsync("admin");
        var client = fx.Client(admin.Key);
        var (_, sequence) = await client.RecordAsync(Api.Memory("something to export", subject: "tove"));
        await fx.WaitForProjectionAsync(AuditLogProjection.Name, sequence);
        object[] invalid =
        [
            new { }, new { datasets = Array.Empty<string>() }, new { datasets = new[] { "secrets" } }, new { datasets = new[] { "memories", "memories" } },
            new { datasets = new[] { "memories" }, asOfSequence = 0 }, new { datasets = new[] { "memories" }, asOfSequence = -5 },
            new { datasets = new[] { "memo\u0000ries" } }, new { datasets = "memories" },
        ];
        foreach (var body in invalid)
        {
            var response = await client.PostAsJsonAsync("/exports", body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)} answered {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        var future = await client.PostAsJsonAsync("/exports", new { datasets = new[] { "memories" }, asOfSequence = long.MaxValue / 2 });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, future.StatusCode);
        Assert.Contains("past what the audit log covers", (await future.Json()).Str("detail"));

        var started = await client.PostAsync("/exports", new { datasets = new[] { "memories" } }, HttpStatusCode.Accepted);
        await FinishedAsync(client, started.Id());
        // ("..", as a whole segment, never reaches the server: the client resolves it, as URLs are.)
        foreach (var name in new[] { "decisions.jsonl", "..%2Fmanifest.json", "..%2F..%2Fadmin.key", "manifest.json.partial", "MEMORIES.JSONL" })
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/exports/{started.Id()}/files/{name}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/exports/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/exports/{Guid.NewGuid()}/files/memories.jsonl")).StatusCode);
    }
}

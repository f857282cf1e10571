using System.Diagnostics;
using ModelContextProtocol.Client;

namespace Aetherra.Integration.Tests.Mcp;

/// <summary>
/// <c>aetherra mcp --stdio</c> as a desktop client runs it: a child process of the built server, acting as the key
/// in AETHERRA_KEY, on the database of a loopback server (which issues the key and shows the audit over HTTP).
/// </summary>
public sealed class McpStdioTests(AetherraFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task the_stdio_server_lists_and_calls_tools_as_its_key_and_audits_them()
    {
        var (server, environment) = await StartAsync();
        await using var _ = server;
        var key = await server.NewKeyAsync("stdio", "stdio-tenant", ["memory:read", "memory:write", "audit:read"], Ct);
        environment["AETHERRA_KEY"] = key;

        await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "aetherra",
            Command = "dotnet",
            Arguments = [AetherraFixture.ApiDll(), "mcp", "--stdio"],
            WorkingDirectory = ServerProcess.ApiProjectDir(AetherraFixture.ApiDll()),
            EnvironmentVariables = environment!
        }), McpTestSupport.Patient, cancellationToken: Ct);

        var tools = await client.ListToolsAsync(cancellationToken: Ct);
        Assert.Equal(["forget_memory", "forget_subject", "get_memory", "memory_history", "recall", "remember", "revise_memory"],
            tools.Select(t => t.Name).Order());

        var written = await client.OkAsync("remember", new { content = "works from the desktop", subject = "desk", agent = "claude", kind = "fact" });
        var id = written.GetProperty("id").GetGuid();
        Assert.Equal("works from the desktop", (await client.OkAsync("get_memory", new { id })).GetProperty("content").GetString());
        var refused = await client.ProblemAsync("remember", new { content = "x", subject = "desk", agent = "claude", kind = "rumour" });
        Assert.Equal(400, refused.GetProperty("status").GetInt32());

        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var audit = await http.GetFromJsonAsync<JsonElement>("/audit?action=memory.record", Ct);
        var records = audit.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal([201, 400], records.Select(r => r.GetProperty("status").GetInt32()));
        Assert.All(records, r => Assert.Equal("mcp", r.GetProperty("channel").GetString()));
        Assert.Equal(id.ToString(), records[0].GetProperty("target").GetString());
    }

    [Fact]
    public async Task stdout_carries_only_json_rpc()
    {
        var (server, environment) = await StartAsync();
        await using var _ = server;
        environment["AETHERRA_KEY"] = await server.NewKeyAsync("stdio", "stdio-raw", ["memory:read"], Ct);

        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { AetherraFixture.ApiDll(), "mcp", "--stdio" },
            WorkingDirectory = ServerProcess.ApiProjectDir(AetherraFixture.ApiDll()),
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false
        };
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        try
        {
            await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");
            await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
            await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""");
            await process.StandardInput.FlushAsync(Ct);

            var lines = new List<string>();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(2));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                lines.Add(line);
                var message = JsonDocument.Parse(line).RootElement;
                Assert.Equal("2.0", message.GetProperty("jsonrpc").GetString());
                if (message.TryGetProperty("id", out var id) && id.GetInt32() == 2) break;
            }
            var tools = JsonDocument.Parse(lines[^1]).RootElement.GetProperty("result").GetProperty("tools");
            Assert.Equal(3, tools.GetArrayLength());
        }
        finally
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30))) process.Kill(entireProcessTree: true);
        }
        // What is not protocol went to stderr (the start-up logs at least).
        Assert.False(string.IsNullOrWhiteSpace(await stderr));
    }

    /// <summary>A loopback server on a fresh database, and the environment a stdio server needs on that same database.</summary>
    private async Task<(ServerProcess, Dictionary<string, string>)> StartAsync()
    {
        var database = await fx.NewDatabaseAsync();
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var workDir = Directory.CreateTempSubdirectory("aetherra-mcp-").FullName;
        var server = await ServerProcess.StartAsync(AetherraFixture.ApiDll(), database, workDir, Ct,
            new Dictionary<string, string> { ["AETHERRA_EMBEDDINGS"] = "off" }, masterKey);
        return (server, new Dictionary<string, string>
        {
            ["AETHERRA_DB"] = database,
            ["AETHERRA_MASTER_KEY"] = masterKey,
            ["AETHERRA_ADMIN_KEY_FILE"] = Path.Combine(workDir, "stdio-admin.key"),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["AETHERRA_EMBEDDINGS"] = "off"
        });
    }
}

using System.Diagnostics;

namespace Aetherra.Integration.Tests.Mcp;

/// <summary>
/// An independent client, not written in C#: the official TypeScript SDK (tests/mcp-client, installed by
/// ops/install-mcp-client) lists and calls the tools of a loopback server over Streamable HTTP, validating each
/// structured result against the tool's advertised output schema as that SDK does.
/// </summary>
public sealed class McpTypeScriptClientTests(AetherraFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task the_typescript_sdk_lists_and_calls_the_tools()
    {
        var script = Path.Combine(ClientDir(), "check.mjs");
        Assert.True(Directory.Exists(Path.Combine(ClientDir(), "node_modules", "@modelcontextprotocol", "sdk")),
            "tests/mcp-client/node_modules is missing: run ops/install-mcp-client (ops/test does)");
        await using var server = await fx.StartLoopbackServerAsync(new Dictionary<string, string> { ["AETHERRA_EMBEDDINGS"] = "off" }, Ct);
        var key = await server.NewKeyAsync("ts", "ts-tenant", ["memory:read", "memory:write", "conversations:write"], Ct);

        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { script },
            WorkingDirectory = ClientDir(),
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false
        };
        start.Environment["MCP_URL"] = server.BaseAddress.ToString();
        start.Environment["MCP_KEY"] = key;
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync(Ct);
        var stderr = node.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try { await node.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { node.Kill(entireProcessTree: true); throw; }
        Assert.True(node.ExitCode == 0, $"the TypeScript client failed ({node.ExitCode}): {await stderr}");

        var output = JsonDocument.Parse(await stdout).RootElement;
        var tools = output.GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(["forget_memory", "forget_subject", "get_memory", "memory_history", "recall", "record_turn", "remember", "reply",
            "revise_memory", "start_conversation"], tools.Keys.Order());
        Assert.False(tools["reply"].GetProperty("readOnly").GetBoolean());
        Assert.True(tools["recall"].GetProperty("readOnly").GetBoolean());
        Assert.True(tools["forget_subject"].GetProperty("destructive").GetBoolean());
        Assert.Equal("the TypeScript client was here", output.GetProperty("content").GetString());
        Assert.Contains(output.GetProperty("id").GetString(), output.GetProperty("recalled").EnumerateArray().Select(e => e.GetString()));
        var conversation = output.GetProperty("conversation");
        Assert.Equal((1, 3), (conversation.GetProperty("turn").GetInt32(), conversation.GetProperty("replyTurn").GetInt32()));
        Assert.False(conversation.GetProperty("generated").GetBoolean());
        Assert.Equal([output.GetProperty("id").GetString()], conversation.GetProperty("cited").EnumerateArray().Select(e => e.GetString()));
        Assert.True(output.GetProperty("refused").GetProperty("isError").GetBoolean());
        Assert.StartsWith("Invalid arguments", output.GetProperty("refused").GetProperty("text").GetString());
        Assert.True(output.GetProperty("notFound").GetProperty("isError").GetBoolean());
        Assert.StartsWith("Not found", output.GetProperty("notFound").GetProperty("text").GetString());
    }

    private static string ClientDir()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Aetherra.sln"))) root = root.Parent;
        return Path.Combine(root?.FullName ?? throw new InvalidOperationException("Aetherra.sln not found above the tests"), "tests", "mcp-client");
    }
}

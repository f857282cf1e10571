using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Aetherra.Integration.Tests.Mcp;

public static class McpTestSupport
{
    /// <summary>The SDK's own MCP client over Streamable HTTP at /mcp of the given server, as the given key.</summary>
    public static async Task<McpClient> ConnectAsync(HttpClient http, string key, CancellationToken ct)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {key}" }
        }, http, ownsHttpClient: false);
        return await McpClient.CreateAsync(transport, Patient, cancellationToken: ct);
    }

    /// <summary>
    /// The client's start-up waits as long as the suite's other waits: its 5 s discovery probe times out on a machine
    /// busy with the whole suite (the server then sees the request aborted).
    /// </summary>
    public static McpClientOptions Patient => new()
    {
        InitializationTimeout = RecallTestSupport.NotYetConsistentPatience,
        DiscoverProbeTimeout = Timeout.InfiniteTimeSpan
    };

    /// <summary>The in-process host's client (the real pipeline, no socket).</summary>
    public static Task<McpClient> ConnectAsync(this AetherraFixture fx, string key) =>
        ConnectAsync(fx.Host.Server.CreateClient(), key, TestContext.Current.CancellationToken);

    public static async Task<CallToolResult> CallAsync(this McpClient client, string tool, object arguments)
    {
        var args = JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.Serialize(arguments));
        return await client.CallToolAsync(tool, args, cancellationToken: TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// A call with minSequence whose 503 "not yet consistent" is asked again, as RecallTestSupport does over HTTP (the
    /// async projection can be more than the server's 5 s wait behind while the whole suite runs).
    /// </summary>
    public static async Task<CallToolResult> CallConsistentAsync(this McpClient client, string tool, object arguments)
    {
        var deadline = DateTimeOffset.UtcNow + RecallTestSupport.NotYetConsistentPatience;
        while (true)
        {
            var result = await client.CallAsync(tool, arguments);
            if (result.IsError is not true || !Text(result).StartsWith("Read model not yet consistent") || DateTimeOffset.UtcNow >= deadline)
                return result;
        }
    }

    /// <summary>A successful call's structured content.</summary>
    public static async Task<JsonElement> OkAsync(this McpClient client, string tool, object arguments)
    {
        var result = await client.CallAsync(tool, arguments);
        Assert.True(result.IsError is not true, $"{tool} failed: {Text(result)}");
        Assert.NotNull(result.StructuredContent);
        Assert.False(string.IsNullOrWhiteSpace(Text(result)));
        return result.StructuredContent!.Value;
    }

    /// <summary>A failed call's problem: the JSON block beside the readable text.</summary>
    public static async Task<JsonElement> ProblemAsync(this McpClient client, string tool, object arguments)
    {
        var result = await client.CallAsync(tool, arguments);
        Assert.True(result.IsError, $"{tool} should have failed: {Text(result)}");
        var blocks = result.Content.OfType<TextContentBlock>().ToList();
        Assert.Equal(2, blocks.Count);
        var problem = JsonDocument.Parse(blocks[1].Text).RootElement;
        Assert.StartsWith(problem.GetProperty("title").GetString()!, blocks[0].Text);
        return problem;
    }

    public static string Text(CallToolResult result) =>
        string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));
}

namespace Aetherra.Integration.Tests.Mcp;

/// <summary>The MCP recall tool's <c>filter</c>: the same filter object, validation and results as POST /recall.</summary>
public sealed class McpRecallFilterTests(AetherraFixture fx)
{
    [Fact]
    public async Task recall_through_mcp_takes_the_same_filter_as_the_route_and_refuses_a_bad_one_with_its_path()
    {
        var key = await fx.NewTenantAsync();
        await using var client = await fx.ConnectAsync(key.Key);
        var low = await client.OkAsync("remember",
            new { content = "the backup job runs at night", subject = "ops", agent = "bot", kind = "fact", importance = 0.2 });
        var high = await client.OkAsync("remember",
            new { content = "the backup job must finish before six", subject = "ops", agent = "bot", kind = "instruction", importance = 0.9 });
        var sequence = high.GetProperty("sequence").GetInt64();

        var filter = new { and = new object[] { new { importance = new { gte = 0.5 } }, new { kind = new { @in = new[] { "instruction", "fact" } } } } };
        var viaMcp = await client.CallConsistentAsync("recall", new { query = "backup job", subject = "ops", minSequence = sequence, filter });
        Assert.True(viaMcp.IsError is not true, McpTestSupport.Text(viaMcp));
        var ids = viaMcp.StructuredContent!.Value.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ToList();
        Assert.Equal([high.GetProperty("id").GetGuid()], ids);

        // The route answers the same for the same filter.
        var viaHttp = await fx.Client(key.Key).RecallAsync(new { query = "backup job", subject = "ops", minSequence = sequence, filter });
        Assert.Equal(ids, viaHttp.Ids());

        // Without the filter both come back: the filter did the narrowing.
        var unfiltered = await client.OkAsync("recall", new { query = "backup job", subject = "ops" });
        Assert.Equal(2, unfiltered.GetProperty("results").GetArrayLength());
        Assert.Contains(low.GetProperty("id").GetGuid(),
            unfiltered.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()));

        var bad = await client.ProblemAsync("recall",
            new { query = "backup job", filter = new { and = new object[] { new { kind = new { eq = "fact" } }, new { importance = new { gte = "high" } } } } });
        Assert.Equal(400, bad.GetProperty("status").GetInt32());
        Assert.True(bad.GetProperty("errors").TryGetProperty("filter.and[1].importance.gte", out _), bad.ToString());

        var unknown = await client.ProblemAsync("recall", new { query = "backup job", filter = new { colour = new { eq = "red" } } });
        Assert.Equal(400, unknown.GetProperty("status").GetInt32());
    }
}

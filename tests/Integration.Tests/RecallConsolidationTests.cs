namespace Aetherra.Integration.Tests;

public sealed class RecallConsolidationTests(AetherraFixture fx)
{
    private static object Memory(string content, string subject = "melanie", string agent = "assistant", int daysAgo = 1,
        string[]? tags = null, double importance = 0.5) =>
        new { content, subject, agent, kind = "fact", tags = tags ?? [], importance, occurredAt = DateTimeOffset.UtcNow.AddDays(-daysAgo) };

    [Fact]
    public async Task consolidation_supersedes_near_duplicates_by_the_most_recent_and_recall_returns_only_the_survivor()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, recorded) = await client.RecordBatchAsync([
            Memory("Melanie loves camping with her kids.", daysAgo: 3, tags: ["outdoors"], importance: 0.9),
            Memory("Melanie loves camping with her kids!", daysAgo: 2, tags: ["family"]),
            Memory("Melanie loves camping with her kids", daysAgo: 1),
            Memory("Melanie is training for a marathon in October."),
            Memory("Melanie loves camping with her kids.", agent: "planner"),
            Memory("Melanie loves camping with her kids.", subject: "melanies-sister"),
        ]);
        var (absorbed, survivor, untouched) = (ids[..2], ids[2], ids[3..]);
        await client.RecallAsync(new { query = "camping", minSequence = recorded });

        var job = await client.ConsolidateAsync(fx, new { });

        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        var result = job.GetProperty("result");
        Assert.Equal(1, result.GetProperty("groups").GetInt32());
        Assert.Equal(2, result.GetProperty("superseded").GetInt32());
        var sequence = result.GetProperty("sequence").GetInt64();

        var recalled = await client.RecallAsync(new { query = "Melanie loves camping with her kids", limit = 100, minSequence = sequence });
        Assert.Equal(new[] { survivor }.Concat(untouched).Order(), recalled.Ids().Order());
        var kept = recalled.Single(r => r.GetProperty("id").GetGuid() == survivor);
        Assert.Equal("Melanie loves camping with her kids", kept.GetProperty("content").GetString());
        Assert.Equal(["family", "outdoors"], kept.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Order());
        foreach (var id in absorbed)
        {
            Assert.Equal("superseded", (await client.ReadMemoryAsync(id)).GetProperty("status").GetString());
            Assert.Contains("memory.superseded.v1", await client.HistoryTypesAsync(id));
        }
        Assert.Equal("active", (await client.ReadMemoryAsync(survivor)).GetProperty("status").GetString());
        foreach (var id in untouched)
        {
            Assert.Equal("active", (await client.ReadMemoryAsync(id)).GetProperty("status").GetString());
            Assert.Equal(["memory.recorded.v1"], await client.HistoryTypesAsync(id));
        }
    }

    [Fact]
    public async Task consolidation_of_one_subject_and_agent_leaves_the_duplicates_of_others_alone()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, recorded) = await client.RecordBatchAsync([
            Memory("Nadia takes the 8:15 train to work.", subject: "nadia", daysAgo: 2),
            Memory("Nadia takes the 8:15 train to work!", subject: "nadia"),
            Memory("Omid takes the 8:15 train to work.", subject: "omid", daysAgo: 2),
            Memory("Omid takes the 8:15 train to work!", subject: "omid"),
            Memory("Nadia takes the 8:15 train to work.", subject: "nadia", agent: "planner", daysAgo: 2),
            Memory("Nadia takes the 8:15 train to work!", subject: "nadia", agent: "planner"),
        ]);
        await client.RecallAsync(new { query = "train", minSequence = recorded });

        var job = await client.ConsolidateAsync(fx, new { subject = "nadia", agent = "assistant" });

        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal(1, job.GetProperty("result").GetProperty("superseded").GetInt32());
        var sequence = job.GetProperty("result").GetProperty("sequence").GetInt64();
        var recalled = await client.RecallAsync(new { query = "8:15 train to work", limit = 100, minSequence = sequence });
        Assert.Equal(ids.Where(id => id != ids[0]).Order(), recalled.Ids().Order());
        Assert.Equal("superseded", (await client.ReadMemoryAsync(ids[0])).GetProperty("status").GetString());
    }
}

public static class ConsolidationSupport
{
    /// <summary>
    /// Starts a consolidation (202 with a job id and its Location) and follows the job until it has ended.
    /// A background job has no sequence to wait on until it ends, so this polls its status, the way a
    /// client does, bounded by a deadline; there is no timed pause in it.
    /// </summary>
    public static async Task<JsonElement> ConsolidateAsync(this HttpClient client, AetherraFixture fx, object request)
    {
        var response = await client.PostAsJsonAsync("/memories/consolidate", request);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var jobId = (await response.Json()).GetProperty("jobId").GetGuid();
        Assert.Equal($"/memories/consolidate/{jobId}", response.Headers.Location?.OriginalString);
        return await client.FollowConsolidationAsync(fx, jobId);
    }

    /// <summary>Follows a consolidation job of the client's tenant until it has ended.</summary>
    public static async Task<JsonElement> FollowConsolidationAsync(this HttpClient client, AetherraFixture fx, Guid jobId)
    {
        // The job first waits for RecallEntry to reach every event stored before it started (other tests'
        // too): wait for that with minSequence, so the status is followed only while the job itself runs.
        await client.RecallAsync(new { query = "consolidation", minSequence = await fx.LastSequenceAsync() });
        var deadline = DateTimeOffset.UtcNow.AddSeconds(120);
        while (true)
        {
            var job = await (await client.GetAsync($"/memories/consolidate/{jobId}")).Json();
            Assert.Equal(jobId, job.GetProperty("id").GetGuid());
            if (job.GetProperty("status").GetString() != "running") return job;
            Assert.True(DateTimeOffset.UtcNow < deadline, $"consolidation job {jobId} still running: {job}");
            await Task.Yield();
        }
    }

    public static async Task<long> LastSequenceAsync(this AetherraFixture fx)
    {
        await using var db = fx.OpenDatabase();
        await using var max = new Npgsql.NpgsqlCommand("select coalesce(max(seq_id), 0) from aetherra.mt_events", db);
        return (long)(await max.ExecuteScalarAsync())!;
    }

    public static async Task<string[]> HistoryTypesAsync(this HttpClient client, Guid id)
    {
        var response = await client.GetAsync($"/memories/{id}/history");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Json()).EnumerateArray().Select(e => e.GetProperty("type").GetString()!).ToArray();
    }
}

using Aetherra.Application.Recall;
using Wolverine.Runtime;
using Wolverine.Runtime.Agents;

namespace Aetherra.Integration.Tests;

/// <summary>
/// A rebuild empties RecallEntry for every tenant while it replays, so it runs alone, after the tests that
/// run in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RecallRebuildCollection
{
    public const string Name = "recall rebuild";
}

[Collection(RecallRebuildCollection.Name)]
public sealed class RecallRebuildTests(AetherraFixture fx)
{
    [Fact]
    public Task rebuilding_recall_entry_through_its_agent_gives_the_same_answers_as_before() =>
        SameAnswersAfter(RebuildRecallEntryAsync);

    [Fact]
    public Task rebuilding_recall_entry_through_the_admin_endpoint_gives_the_same_answers_as_before() =>
        SameAnswersAfter(RebuildThroughTheEndpointAsync);

    /// <summary>After a rebuild the projection keeps running: a new write is recalled at once.</summary>
    [Fact]
    public async Task after_a_rebuild_through_the_admin_endpoint_new_writes_are_recalled()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, before) = await client.RecordAsync(Api.Memory("Yara keeps bees on the roof", subject: "yara"));
        await client.RecallAsync(new { query = "bees", minSequence = before });

        await RebuildThroughTheEndpointAsync();
        var (id, sequence) = await client.RecordAsync(Api.Memory("Yara sells honey at the market", subject: "yara"));

        var response = await client.PostAsJsonAsync("/recall", new { query = "honey", minSequence = sequence });
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Contains(id, (await response.Json()).GetProperty("results").EnumerateArray().Ids());
    }

    private async Task SameAnswersAfter(Func<Task> rebuild)
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, _) = await client.RecordBatchAsync([
            new { content = "Wren adopted a grey cat called Smoke", subject = "wren", agent = "assistant", kind = "fact", tags = new[] { "pets" }, importance = 0.8 },
            new { content = "Wren's cat Smoke hates the vet", subject = "wren", agent = "assistant", kind = "observation", tags = new[] { "pets", "health" }, importance = 0.5 },
            new { content = "Wren prefers dogs to cats, she says", subject = "wren", agent = "planner", kind = "preference", tags = Array.Empty<string>(), importance = 0.3 },
            new { content = "Wren walks the neighbour's dog on Saturdays", subject = "wren", agent = "assistant", kind = "episode", tags = new[] { "pets" }, importance = 0.5 },
            new { content = "Wren's sister Ada has two cats", subject = "ada", agent = "assistant", kind = "fact", tags = new[] { "pets" }, importance = 0.5 },
            new { content = "Ada moved to Lisbon with her cats", subject = "ada", agent = "assistant", kind = "episode", tags = Array.Empty<string>(), importance = 0.5 },
        ]);
        await client.ReviseAsync(ids[0], "Wren adopted a black cat called Smoke").SequenceOf();
        await client.DeleteAsync($"/memories/{ids[3]}").SequenceOf();
        var revisedAt = (await client.HistoryInstantsAsync(ids[0]))[1];
        var sequence = await client.DeleteAsync("/subjects/ada").SequenceOf();
        object[] queries =
        [
            new { query = "Wren's cat", explain = true },
            new { query = "Which pets does Wren have?", subject = "wren" },
            new { query = "dog", agent = "assistant" },
            new { query = "cat", tags = new[] { "pets" }, kinds = new[] { "fact", "observation" } },
            new { query = "Wren adopted a grey cat", asOf = revisedAt.AddTicks(-10) },
            new { query = "Wren adopted a cat", asOf = revisedAt },
            new { query = "Ada Lisbon cats" },
        ];
        var before = await AnswersAsync(client, queries, sequence);
        Assert.Contains(before, a => a.Length > 1);
        Assert.Equal(ids[0], before[4][0].Id);
        Assert.Equal(1, before[4][0].Version);
        Assert.Equal(2, before[5][0].Version);

        var epoch = await EpochAsync();

        await rebuild();

        // The read model was built again from nothing: a rebuild starts a new epoch.
        Assert.NotEqual(epoch, await EpochAsync());

        var after = await AnswersAsync(client, queries, sequence);
        for (var i = 0; i < queries.Length; i++)
            Assert.True(before[i].SequenceEqual(after[i]),
                $"query {i}: before {string.Join(", ", before[i])}; after {string.Join(", ", after[i])}");
    }

    /// <summary>POST /admin/projections/RecallEntry/rebuild (202, a job), followed until the job has ended.</summary>
    private Task RebuildThroughTheEndpointAsync() => fx.Client(fx.AdminKey).RebuildAsync(RecallProjection.Name, new { });

    private async Task<Guid?> EpochAsync()
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand($"select epoch from {RecallSchema.State} where id = 1", db);
        return await cmd.ExecuteScalarAsync() as Guid?;
    }

    private static async Task<(Guid Id, int Version)[][]> AnswersAsync(HttpClient client, object[] queries, long sequence)
    {
        var answers = new List<(Guid, int)[]>();
        foreach (var query in queries)
        {
            var body = JsonSerializer.SerializeToNode(query)!.AsObject();
            body["minSequence"] = sequence;
            answers.Add((await client.RecallAsync(body))
                .Select(r => (r.GetProperty("id").GetGuid(), r.GetProperty("version").GetInt32())).ToArray());
        }
        return answers.ToArray();
    }

    /// <summary>
    /// Rebuilds through the agent Wolverine runs the projection in (the only writer of its progression):
    /// it stops the continuous shard, tears down and replays RecallEntry to the high-water mark, and starts
    /// the shard again. Wolverine's docs warn against driving the daemon from the side under its managed
    /// distribution, which would add a second writer.
    /// </summary>
    private async Task RebuildRecallEntryAsync()
    {
        var services = fx.Host.Services;
        var family = services.GetServices<IAgentFamily>().OfType<IEventSubscriptionAgentFamily>().Single();
        var uri = await family.FindAgentUriAsync($"{RecallProjection.Name}:All", null, TestContext.Current.CancellationToken);
        Assert.NotNull(uri);
        var runtime = services.GetRequiredService<IWolverineRuntime>();
        Assert.True(runtime.Agents.TryFindActiveAgent<IEventSubscriptionAgent>(uri, out var agent),
            $"no running agent {uri} on this node: {string.Join(", ", runtime.Agents.AllRunningAgentUris().Select(u => u.ToString()))}");
        await agent.RebuildAsync(TestContext.Current.CancellationToken);
    }
}

using System.Collections.Concurrent;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Embeddings;
using Microsoft.Extensions.DependencyInjection;

namespace Aetherra.Integration.Tests;

/// <summary>
/// The recall projection's embedding yields the cores to requests (issue 22): its tokenizing and model calls run on
/// dedicated threads at the nice AETHERRA_EMBED_NICE sets (default 10), while a recall's query embedding runs on the
/// request's own thread at the requests' priority. .NET's Thread.Priority does nothing on Linux, so the nice is read
/// from /proc.
/// </summary>
public sealed class RecallEmbeddingPriorityTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_batch_runs_on_threads_at_the_given_nice_and_a_query_does_not()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread priorities are read from /proc");
        var baseline = await Task.Run(ThreadNice.OfCurrent);
        Assert.True(baseline < 7, $"the test process already runs at nice {baseline}");
        using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, batchNice: 7);
        var (batch, query) = (new ConcurrentBag<int>(), new ConcurrentBag<int>());
        embedder.ModelCalling += isBatch => (isBatch ? batch : query).Add(ThreadNice.OfCurrent());

        await embedder.EmbedManyAsync(Enumerable.Range(0, 100).Select(i => $"memory number {i} about the garden").ToList(), TestContext.Current.CancellationToken);
        await Task.Run(() => embedder.EmbedQuery("where is the garden?"), TestContext.Current.CancellationToken);
        embedder.EmbedOne("what grows in the garden?");

        // 100 texts: 100 model calls of one text in int8 (the default), 4 of at most 32 in fp32.
        Assert.Equal((100 + embedder.CallSize - 1) / embedder.CallSize, batch.Count);
        Assert.All(batch, nice => Assert.Equal(7, nice));
        Assert.Equal(2, query.Count);
        Assert.All(query, nice => Assert.Equal(baseline, nice));
        // The pool's threads, which ran the batch before, are not demoted by it.
        Assert.Equal(baseline, await Task.Run(ThreadNice.OfCurrent, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task with_nice_zero_a_batch_runs_on_the_callers_and_the_pools_threads_as_before()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread priorities are read from /proc");
        var baseline = await Task.Run(ThreadNice.OfCurrent);
        using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, batchNice: 0);
        var threads = new ConcurrentBag<(int Nice, bool Pool)>();
        embedder.ModelCalling += _ => threads.Add((ThreadNice.OfCurrent(), Thread.CurrentThread.IsThreadPoolThread));

        var vectors = await embedder.EmbedManyAsync(["the garden", "the cellar", "the bike in the cellar"], TestContext.Current.CancellationToken);

        Assert.All(threads, t => Assert.Equal((baseline, true), t));
        Assert.Equal(embedder.EmbedOne("the cellar"), vectors[1]);
    }

    [Fact]
    public async Task the_servers_projection_embeds_at_the_configured_nice_and_a_recall_embeds_its_query_at_the_requests()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread priorities are read from /proc");
        Assert.SkipWhen(MeasurementSwitches.EmbedNice == 0, "AETHERRA_EMBED_NICE=0: the projection is not demoted");
        var baseline = await Task.Run(ThreadNice.OfCurrent);
        var embedder = fx.Host.Services.GetRequiredService<TextEmbedder>();
        var query = new ConcurrentBag<int>();
        void OnCall(bool isBatch)
        {
            if (!isBatch) query.Add(ThreadNice.OfCurrent());
        }
        embedder.ModelCalling += OnCall;
        try
        {
            var client = fx.Client((await fx.NewTenantAsync()).Key);
            var (_, sequence) = await client.RecordAsync(Api.Memory($"Ines waters the tomatoes at dawn {Guid.NewGuid():N}", subject: "ines"));
            // Waits for the projection, which embedded the memory on its workers; the query is a new text, so not cached.
            var results = await client.RecallAsync(new { query = $"When does Ines water the tomatoes? {Guid.NewGuid():N}", minSequence = sequence });
            Assert.NotEmpty(results);
        }
        finally
        {
            embedder.ModelCalling -= OnCall;
        }

        var workers = Directory.GetDirectories("/proc/self/task")
            .Select(d => (Tid: int.Parse(Path.GetFileName(d)), Name: File.ReadAllText(Path.Combine(d, "comm")).Trim()))
            .Where(t => t.Name.StartsWith("aetherra-embed", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(workers);
        Assert.All(workers, w => Assert.Equal(MeasurementSwitches.EmbedNice, ThreadNice.Of(w.Tid)));
        Assert.NotEmpty(query);
        Assert.All(query, nice => Assert.Equal(baseline, nice));
    }
}

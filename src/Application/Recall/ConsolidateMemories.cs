using Aetherra.Application.Common;
using Aetherra.Application.Memory;
using Aetherra.Domain;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.Embeddings;
using Aetherra.Infrastructure.Jobs;
using FluentValidation;
using JasperFx;
using Marten;
using Npgsql;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Recall;

public sealed record ConsolidateMemoriesRequest(string? Subject, string? Agent, double? Threshold);

public sealed record ConsolidationResult(int Groups, int Superseded, long? Sequence);

public sealed class ConsolidateMemoriesValidator : AbstractValidator<ConsolidateMemoriesRequest>
{
    public ConsolidateMemoriesValidator()
    {
        RuleFor(x => x.Subject).MaximumLength(MemoryLimits.MaxNameLength);
        RuleFor(x => x.Agent).MaximumLength(MemoryLimits.MaxNameLength);
        RuleFor(x => x.Threshold).InclusiveBetween(ConsolidateMemories.MinThreshold, 1.0);
    }
}

/// <summary>
/// Consolidation: within each subject and agent, current memories whose embeddings are nearly the same
/// (cosine at or above the threshold, linked transitively) are folded into one survivor, the most recent
/// of them. The others get MemorySuperseded, the survivor MemoriesConsolidated: recall shows one memory,
/// history keeps every one. It runs as a background job (the work grows with the square of a group).
/// </summary>
public sealed class ConsolidateMemories(
    IDocumentStore store, TenantDatabases databases, RecallIndex index, JobRunner jobs, TimeProvider clock)
{
    /// <summary>
    /// Default cosine at or above which two memories are one. With all-MiniLM-L6-v2, rewordings of one
    /// statement (punctuation, case, word order, a synonym) score above it, while different statements
    /// about the same topic score below (docs/recall.md has the measurement).
    /// </summary>
    public const double DefaultThreshold = 0.95;

    public const double MinThreshold = 0.8;

    /// <summary>Largest group compared pairwise in one job.</summary>
    public const int MaxGroup = 5_000;

    public Task<Guid> StartAsync(ConsolidateMemoriesRequest request, CommandContext command, CancellationToken ct) =>
        jobs.StartAsync(command.Tenant, "memory.consolidate", (progress, stop) => RunAsync(request, command, progress, stop), ct);

    private async Task<object?> RunAsync(ConsolidateMemoriesRequest request, CommandContext command, JobProgress progress, CancellationToken ct)
    {
        var dataSource = databases.For(command.Tenant);
        // Work on everything written before the job started: the recall projection must have reached it.
        long highest;
        await using (var cmd = dataSource.CreateCommand($"select coalesce(max(seq_id), 0) from {Infrastructure.AetherraSettings.Schema}.mt_events"))
            highest = (long)(await cmd.ExecuteScalarAsync(ct))!;
        await Consistency.WaitForProjectionAsync(dataSource, RecallProjection.Name, highest, clock, ct, TimeSpan.FromMinutes(2));
        await index.SyncAsync(ct);

        var threshold = request.Threshold ?? DefaultThreshold;
        var groups = index.Current(command.Tenant, request.Subject, clock.GetUtcNow())
            .Where(x => request.Agent is null || x.Entry.Agent == request.Agent)
            .GroupBy(x => (x.Subject, x.Entry.Agent))
            .ToList();
        var clusters = groups.SelectMany(g => Clusters(g.Select(x => x.Entry).Take(MaxGroup).ToList(), threshold)).ToList();
        await progress.ReportAsync(0, clusters.Count, ct);

        int done = 0, consolidated = 0, superseded = 0;
        long? sequence = null;
        foreach (var cluster in clusters)
        {
            ct.ThrowIfCancellationRequested();
            if (await FoldAsync(cluster, command, ct) is { } folded)
            {
                consolidated++;
                superseded += folded.Superseded;
                sequence = folded.Sequence;
            }
            await progress.ReportAsync(++done, clusters.Count, ct);
        }
        return new ConsolidationResult(consolidated, superseded, sequence);
    }

    /// <summary>Groups of two or more entries linked by cosine at or above the threshold (union-find).</summary>
    public static IEnumerable<IReadOnlyList<Guid>> Clusters(IReadOnlyList<RecallIndex.Entry> entries, double threshold)
    {
        var parent = Enumerable.Range(0, entries.Count).ToArray();
        int Find(int i) => parent[i] == i ? i : parent[i] = Find(parent[i]);
        for (var i = 0; i < entries.Count; i++)
        for (var j = i + 1; j < entries.Count; j++)
            if (TextEmbedder.Dot(entries[i].Vector, entries[j].Vector) >= threshold)
                parent[Find(i)] = Find(j);
        return Enumerable.Range(0, entries.Count)
            .GroupBy(Find)
            .Where(g => g.Count() > 1)
            .Select(g => (IReadOnlyList<Guid>)g.Select(i => entries[i].MemoryId).Distinct().ToList())
            .Where(c => c.Count > 1);
    }

    /// <summary>Folds one cluster in one transaction; a memory changed meanwhile leaves the cluster alone.</summary>
    private async Task<(int Superseded, long Sequence)?> FoldAsync(IReadOnlyList<Guid> ids, CommandContext job, CancellationToken ct)
    {
        // Each fold is a command of its own (its own audit record), issued by the key that asked for the job.
        var command = new CommandContext(job.Actor, job.Tenant, Guid.CreateVersion7(), job.Action);
        await using var session = store.OpenFor(command);
        try
        {
            var streams = new List<JasperFx.Events.IEventStream<MemoryState>>();
            foreach (var id in ids) streams.Add(await session.Events.FetchForWriting<MemoryState>(id, ct));
            var memories = streams.Where(s => s.Aggregate is not null).Select(s => s.Aggregate!).ToList();
            var now = clock.GetUtcNow();
            var active = memories.Where(m => m.StatusAt(now) == MemoryStatus.Active).ToList();
            if (active.Count < 2) return null;
            var survivor = active.OrderByDescending(m => m.OccurredAt).ThenByDescending(m => m.RecordedAt).ThenBy(m => m.Id).First();
            var (kept, absorbed) = MemoryDecisions.Consolidate(survivor, active.Where(m => m.Id != survivor.Id).ToList(), now);
            foreach (var e in absorbed) streams.Single(s => s.Id == e.MemoryId).AppendOne(e);
            streams.Single(s => s.Id == survivor.Id).AppendOne(kept with { Tags = kept.Tags.Take(MemoryLimits.MaxTags).ToList() });
            var sequence = await session.CommitAsync(command, survivor.Id.ToString(), Outcome.Done, now, ct);
            return (absorbed.Count, sequence);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e) || e is DomainRuleViolated)
        {
            return null;
        }
    }
}

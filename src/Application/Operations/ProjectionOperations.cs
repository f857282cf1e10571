using Aetherra.Domain;
using FluentValidation;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Jobs;
using JasperFx;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;
using Wolverine.Runtime;
using Wolverine.Runtime.Agents;

namespace Aetherra.Application.Operations;

public sealed record ProjectionStatus(string Name, string Lifecycle, long Position, long Lag, string Status);

public sealed record RebuildProjection(long? AsOfSequence, DateTimeOffset? AsOfTime, string? TargetSchema);

public sealed class RebuildProjectionValidator : AbstractValidator<RebuildProjection>
{
    public RebuildProjectionValidator()
    {
        RuleFor(x => x.AsOfSequence).GreaterThanOrEqualTo(1);
        RuleFor(x => x.AsOfTime).Null().When(x => x.AsOfSequence is not null).WithMessage("Give asOfSequence or asOfTime, not both.");
        RuleFor(x => x.TargetSchema!).Matches("^[a-z_][a-z0-9_]{0,62}$")
            .WithMessage("'Target Schema' must be a lowercase PostgreSQL name: letters, digits and _, at most 63.")
            .Must(s => s != AetherraSettings.Schema && s != "public" && s != "information_schema" && !s.StartsWith("pg_", StringComparison.Ordinal))
            .WithMessage("'Target Schema' must not be the live schema or a system schema.")
            .When(x => x.TargetSchema is not null);
    }
}

public sealed record EventStoreStatus(long Events, long Streams, long HighWaterMark);

public sealed record ServerStatus(string Version, string Node, string BootPhase, long UptimeSeconds, EventStoreStatus EventStore);

/// <summary>
/// What an operator sees of the read models, and the rebuild of an async one. Inline projections commit with
/// their events, so they are always at the store's high-water mark; async ones report their own progress.
/// </summary>
public sealed class ProjectionOperations(
    IDocumentStore store, NpgsqlDataSource dataSource, IWolverineRuntime runtime, IEnumerable<IAgentFamily> agentFamilies,
    JobRunner jobs, AnalysisRebuild analysis, TimeProvider clock, IEnumerable<IBulkRebuild> bulkRebuilds,
    ILogger<ProjectionOperations> log)
{
    private const string S = AetherraSettings.Schema;
    /// <summary>
    /// When the process started, from the operating system: a static initialised on first use counted from the
    /// first status call (issue 13).
    /// </summary>
    public static readonly DateTimeOffset ProcessStarted = new(System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime());

    public async Task<IReadOnlyList<ProjectionStatus>> ListAsync(CancellationToken ct)
    {
        var (highWater, progress) = await ProgressAsync(ct);
        return ((DocumentStore)store).Options.Projections.All
            .Select(p =>
            {
                if (p.Lifecycle != ProjectionLifecycle.Async) return new ProjectionStatus(p.Name, "inline", highWater, 0, "running");
                var (position, status) = progress.GetValueOrDefault(p.Name, (0L, "starting"));
                return new ProjectionStatus(p.Name, "async", position, Math.Max(0, highWater - position), status);
            })
            .OrderBy(p => p.Name)
            .ToList();
    }

    /// <summary>
    /// Rebuilds an async projection from the whole log, as a job; the read model answers meanwhile with what it
    /// has. As of a sequence or time, or into a target schema, it builds a separate copy instead (<see cref="AnalysisRebuild"/>).
    /// </summary>
    public async Task<Guid> StartRebuildAsync(string name, RebuildProjection request, string tenant, CancellationToken ct)
    {
        var source = ((DocumentStore)store).Options.Projections.All.FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            ?? throw new Common.NotFound("projection");
        if (source.Lifecycle != ProjectionLifecycle.Async)
            throw new DomainRuleViolated($"{source.Name} is inline: it is written with its events and needs no rebuild");
        if (request.AsOfSequence is not null || request.AsOfTime is not null || request.TargetSchema is not null)
            return await analysis.StartAsync(source.Name, request, tenant, (await ProgressAsync(ct)).HighWater, ct);

        // Through the agent Wolverine runs the projection's shard in, the shard's only writer: it stops the
        // shard, rebuilds and starts it again. The daemon's own rebuild stops the shard and never starts it
        // again under Wolverine's distribution (Wolverine GH-3520): the read model stopped advancing.
        if (await FindLocalAgentAsync(source.Name, ct) is not { } found)
            throw new DomainRuleViolated($"{source.Name} is not running on this node: rebuild it on the node that runs it");

        var agent = found.Agent;
        var bulk = bulkRebuilds.FirstOrDefault(b => b.Name == source.Name);
        return await jobs.StartAsync(tenant, "projection.rebuild", async (progress, stop) =>
        {
            var (highWater, _) = await ProgressAsync(stop);
            // A projection that writes in bulk while it replays the log (RecallEntry counts its statistics once at
            // the end) is told when the replay starts and when it has caught up, failed or not.
            bulk?.BeginRebuild();
            try
            {
                var rebuild = bulk is { ReplaysItself: true } ? ReplayAsync(agent, bulk, stop) : agent.RebuildAsync(stop);
                while (!rebuild.IsCompleted)
                {
                    await Task.WhenAny(rebuild, Task.Delay(TimeSpan.FromMilliseconds(500), clock, stop));
                    var (_, now) = await ProgressAsync(stop);
                    await progress.ReportAsync(now.GetValueOrDefault(source.Name, (0L, "")).Item1, highWater, stop);
                }
                await rebuild;
            }
            finally
            {
                if (bulk is not null) await bulk.EndRebuildAsync(CancellationToken.None);
            }
            await progress.ReportAsync(highWater, highWater, stop);
            return new { projection = source.Name, rebuiltTo = highWater };
        }, ct);
    }

    /// <summary>
    /// A full rebuild through the projection's own replay (RecallEntry's: it loads the next pages while it writes one):
    /// the shard is stopped through its agent, the log replayed to the daemon's high-water mark as it is then (every event
    /// at or below it is committed), and the shard started again from the progress the replay committed with its last page.
    /// The shard is started again whatever happened; after a failed replay the daemon's own rebuild does it all again. A
    /// process that dies mid-replay leaves the progress of the last page committed: the shard carries on from there when
    /// it starts (the rebuild's marker then has its first batch count the statistics), as after the daemon's rebuild.
    /// </summary>
    private async Task ReplayAsync(IEventSubscriptionAgent agent, IBulkRebuild bulk, CancellationToken ct)
    {
        await agent.StopAsync(ct);
        var started = false;
        Exception? failed = null;
        try
        {
            // The daemon's stored high-water mark, read once the shard has stopped: every event at or below it is committed
            // (a later one is the restarted shard's). Before the daemon's first pass there is none: its own rebuild then
            // finds the mark itself.
            await using var read = dataSource.CreateCommand(Common.Consistency.HighWaterMarkSql);
            var highWater = (long)(await read.ExecuteScalarAsync(ct))!;
            if (highWater == 0)
            {
                await agent.StartAsync(ct);
                started = true;
                await agent.RebuildAsync(ct);
                return;
            }
            await bulk.ReplayAsync(store, highWater, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException && !started)
        {
            // The replay failed (its pages roll back from the first that failed): the daemon's rebuild does it all again,
            // from its own teardown, once the shard has started from what the replay committed.
            failed = e;
        }
        finally
        {
            if (!started)
            {
                // Started afresh from the stored progress: were the shard restarted under the replay (its batches failed),
                // it is stopped first.
                if (agent.Status != AgentStatus.Stopped) await agent.StopAsync(CancellationToken.None);
                await agent.StartAsync(CancellationToken.None);
            }
        }
        if (failed is not null)
        {
            log.LogWarning(failed, "{Projection}'s own replay failed: rebuilding it through the daemon instead", bulk.Name);
            await agent.RebuildAsync(ct);
        }
    }

    /// <summary>
    /// Restarts an async projection's agent on this node (stop, then start from its stored position): what
    /// homeostasis does for a projection that stopped advancing. Answers what happened, for the record.
    /// </summary>
    public async Task<string> RestartAsync(string name, CancellationToken ct)
    {
        if (await FindLocalAgentAsync(name, ct) is not { } found) return "not running on this node";
        await runtime.Agents.StopLocallyAsync(found.Uri);
        await runtime.Agents.StartLocallyAsync(found.Uri);
        return "restarted";
    }

    private async Task<(Uri Uri, IEventSubscriptionAgent Agent)?> FindLocalAgentAsync(string projection, CancellationToken ct)
    {
        foreach (var family in agentFamilies.OfType<IEventSubscriptionAgentFamily>())
            if (await family.FindAgentUriAsync($"{projection}:All", null, ct) is { } uri
                && runtime.Agents.TryFindActiveAgent<IEventSubscriptionAgent>(uri, out var found))
                return (uri, found);
        return null;
    }

    public async Task<ServerStatus> StatusAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            select (select count(*) from {S}.mt_events), (select count(*) from {S}.mt_streams),
                   ({Common.Consistency.HighWaterMarkSql})
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var version = typeof(ProjectionOperations).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
        return new ServerStatus(version, JobRunner.Node, "ready", (long)Math.Max(0, (clock.GetUtcNow() - ProcessStarted).TotalSeconds),
            new EventStoreStatus(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
    }

    private async Task<(long HighWater, Dictionary<string, (long, string)> Progress)> ProgressAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"select name, last_seq_id, agent_status, pause_reason from {S}.mt_event_progression");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        long highWater = 0;
        var progress = new Dictionary<string, (long, string)>();
        while (await reader.ReadAsync(ct))
        {
            var name = reader.GetString(0);
            if (name == "HighWaterMark") highWater = reader.GetInt64(1);
            else if (name.EndsWith(":All", StringComparison.Ordinal))
                progress[name[..^4]] = (reader.GetInt64(1),
                    !reader.IsDBNull(3) ? "paused" : reader.IsDBNull(2) ? "running" : reader.GetString(2).ToLowerInvariant());
        }
        if (highWater == 0)
        {
            await using var max = dataSource.CreateCommand($"select coalesce(max(seq_id), 0) from {S}.mt_events");
            highWater = (long)(await max.ExecuteScalarAsync(ct))!;
        }
        return (highWater, progress);
    }
}

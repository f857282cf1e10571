using Aetherra.Application.Common;
using Aetherra.Application.Memory;
using Aetherra.Domain.Recall;
using FluentValidation;
using Aetherra.Infrastructure.Database;
using Marten;
using Npgsql;

namespace Aetherra.Application.Recall;

/// <summary>POST /memories/archive: apply the archive policy now (memories older than <c>olderThanDays</c>, never recalled).</summary>
public sealed record ArchiveMemoriesRequest(string? Subject, int? OlderThanDays);

public sealed record ArchiveMemoriesResult(Guid RunId, DateTimeOffset Cutoff, int Archived, long Sequence);

public sealed class ArchiveMemoriesValidator : AbstractValidator<ArchiveMemoriesRequest>
{
    public ArchiveMemoriesValidator()
    {
        RuleFor(x => x.Subject).MaximumLength(MemoryLimits.MaxNameLength);
        RuleFor(x => x.OlderThanDays).InclusiveBetween(1, 36_500);
    }
}

/// <summary>
/// The compaction tiers' policy: the current memories of a subject (or of every subject of the tenant) that
/// occurred more than <c>olderThanDays</c> ago (default <see cref="DefaultOlderThanDays"/>), were never returned by
/// a recall (<c>recall_usage</c>) and never reinforced, move to the archive tier. The run is one stream: an
/// <see cref="ArchivePolicyApplied"/> event and one <see cref="MemoryArchived"/> per memory, committed together;
/// the RecallEntry projection flags the rows, so a rebuild reproduces the tiers. At most <see cref="MaxPerRun"/>
/// memories per run (the oldest first); run it again for more.
/// </summary>
public sealed class ArchiveMemories(IDocumentStore store, TenantDatabases databases, TimeProvider clock, RecallUsage usage)
{
    public const int DefaultOlderThanDays = 180;

    public const int MaxPerRun = 10_000;

    public async Task<ArchiveMemoriesResult> RunAsync(ArchiveMemoriesRequest request, CommandContext command, CancellationToken ct)
    {
        var dataSource = databases.For(command.Tenant);
        // Everything written before the run must be in RecallEntry, or a fresh memory could be judged by stale rows.
        long highest;
        await using (var cmd = dataSource.CreateCommand($"select coalesce(max(seq_id), 0) from {Infrastructure.AetherraSettings.Schema}.mt_events"))
            highest = (long)(await cmd.ExecuteScalarAsync(ct))!;
        await Consistency.WaitForProjectionAsync(dataSource, RecallProjection.Name, highest, clock, ct);
        // This node's recalls so far are in recall_usage before it is read (another node's last FlushInterval may not be).
        await usage.FlushAsync(ct);

        var now = clock.GetUtcNow();
        var days = request.OlderThanDays ?? DefaultOlderThanDays;
        var cutoff = now - TimeSpan.FromDays(days);
        var chosen = new List<(Guid Id, string Subject)>();
        await using (var cmd = dataSource.CreateCommand($"""
            select e.memory_id, e.subject from {RecallSchema.Entries} e
            where e.tenant_id = $1 and ($2::text is null or e.subject = $2) and e.valid_to is null and e.content is not null
              and not e.archived and e.occurred_at < $3 and cardinality(e.reinforced_at) = 0
              and not exists (select 1 from {RecallSchema.Usage} u where u.tenant_id = e.tenant_id and u.memory_id = e.memory_id)
            order by e.occurred_at, e.memory_id
            limit {MaxPerRun}
            """))
        {
            cmd.Parameters.Add(new() { Value = command.Tenant });
            cmd.Parameters.Add(new() { Value = (object?)request.Subject ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = cutoff });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) chosen.Add((reader.GetGuid(0), reader.GetString(1)));
        }

        var runId = Guid.CreateVersion7();
        await using var session = store.OpenFor(command);
        var events = new List<object> { new ArchivePolicyApplied(runId, request.Subject, days, cutoff, chosen.Count, now) };
        events.AddRange(chosen.Select(c => (object)new MemoryArchived(c.Id, c.Subject, runId, now)));
        session.Events.StartStream(runId, events.ToArray());
        var sequence = await session.CommitAsync(command, runId.ToString(), Outcome.Done, now, ct);
        return new ArchiveMemoriesResult(runId, cutoff, chosen.Count, sequence);
    }
}

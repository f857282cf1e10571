using Aetherra.Domain.Recall;
using Aetherra.Infrastructure.Database;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Aetherra.Application.Recall;

/// <summary>
/// The live ranking and an optional shadow candidate, from configuration: AETHERRA_RECALL_RANKING (the live one;
/// default the measured constants of <see cref="RecallRanking"/>), AETHERRA_RECALL_SHADOW (a candidate, e.g.
/// <c>textWeight=0.3;neighbourWeight=0</c>) and AETHERRA_RECALL_SHADOW_SAMPLE (the share of recalls it runs on,
/// 0 to 1, default 0.1). Promoting a candidate is setting AETHERRA_RECALL_RANKING to its value.
/// </summary>
public sealed record RecallRankingSettings(RankingOptions Live, RankingOptions? Shadow, double ShadowSample)
{
    public static RecallRankingSettings From(IConfiguration config)
    {
        var (live, liveError) = RankingOptions.Parse(config["AETHERRA_RECALL_RANKING"]);
        if (live is null) throw new InvalidOperationException($"AETHERRA_RECALL_RANKING: {liveError}");
        RankingOptions? shadow = null;
        if (!string.IsNullOrWhiteSpace(config["AETHERRA_RECALL_SHADOW"]))
        {
            (shadow, var error) = RankingOptions.Parse(config["AETHERRA_RECALL_SHADOW"]);
            if (shadow is null) throw new InvalidOperationException($"AETHERRA_RECALL_SHADOW: {error}");
        }
        var sample = 0.1;
        if (config["AETHERRA_RECALL_SHADOW_SAMPLE"] is { Length: > 0 } text
            && (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out sample)
                || !(sample is >= 0 and <= 1)))
            throw new InvalidOperationException("AETHERRA_RECALL_SHADOW_SAMPLE must be a number from 0 to 1");
        return new RecallRankingSettings(live, shadow, sample);
    }
}

public sealed record RecallShadowRanking(
    string Ranking, int Samples, double? OverlapAt10, double? RankCorrelation, int Judged, int Relevant, double? LiveRecall,
    double? CandidateRecall);

/// <summary>GET /recall/shadow: the configured rankings and how the candidate compared with the live one.</summary>
public sealed record RecallShadowReport(
    string Live, string? Candidate, double SampleRate, double WindowHours, IReadOnlyList<RecallShadowRanking> Candidates);

/// <summary>
/// Shadow samples: for a sampled recall, the live ranking's top 10 and the candidate's, over the same candidates
/// (table <c>recall_shadow</c>; metrics only, never returned by recall). The report reads which of those memories
/// usage showed relevant: reinforced within a window after the recall (a decision citing a memory reinforces it,
/// and so does a client's explicit reinforcement).
/// </summary>
public sealed class RecallShadow(TenantDatabases databases, RecallRankingSettings settings)
{
    public const int K = 10;

    /// <summary>At most this many of the latest samples per candidate are read by a report.</summary>
    public const int MaxSamples = 5000;

    public async Task RecordAsync(string tenant, DateTimeOffset at, RankingOptions live, RankingOptions candidate, Guid[] liveIds, Guid[] candidateIds, CancellationToken ct)
    {
        await using var cmd = databases.For(tenant).CreateCommand($"""
            insert into {RecallSchema.Shadow} (tenant_id, sample_id, at, live, candidate, live_ids, candidate_ids)
            values ($1, $2, $3, $4, $5, $6, $7)
            """);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = Guid.CreateVersion7() });
        cmd.Parameters.Add(new() { Value = at });
        cmd.Parameters.Add(new() { Value = live.ToString() });
        cmd.Parameters.Add(new() { Value = candidate.ToString() });
        cmd.Parameters.Add(new() { Value = liveIds });
        cmd.Parameters.Add(new() { Value = candidateIds });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<RecallShadowReport> ReportAsync(string tenant, TimeSpan window, CancellationToken ct)
    {
        var samples = new List<(DateTimeOffset At, string Candidate, Guid[] Live, Guid[] Other)>();
        await using (var cmd = databases.For(tenant).CreateCommand($"""
            select at, candidate, live_ids, candidate_ids from {RecallSchema.Shadow}
            where tenant_id = $1 order by at desc limit {MaxSamples}
            """))
        {
            cmd.Parameters.Add(new() { Value = tenant });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                samples.Add((reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetFieldValue<Guid[]>(2), reader.GetFieldValue<Guid[]>(3)));
        }

        // When each memory these samples name was reinforced.
        var reinforced = new Dictionary<Guid, DateTimeOffset[]>();
        var ids = samples.SelectMany(s => s.Live.Concat(s.Other)).Distinct().ToArray();
        if (ids.Length > 0)
        {
            await using var cmd = databases.For(tenant).CreateCommand($"""
                select distinct on (memory_id) memory_id, reinforced_at from {RecallSchema.Entries}
                where tenant_id = $1 and memory_id = any($2) order by memory_id, version desc
                """);
            cmd.Parameters.Add(new() { Value = tenant });
            cmd.Parameters.Add(new() { Value = ids });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) reinforced[reader.GetGuid(0)] = reader.GetFieldValue<DateTimeOffset[]>(1);
        }

        var rankings = samples.GroupBy(s => s.Candidate).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var list = g.ToList();
            int judged = 0, relevant = 0, foundLive = 0, foundOther = 0;
            foreach (var s in list)
            {
                var useful = s.Live.Union(s.Other)
                    .Where(id => reinforced.TryGetValue(id, out var at) && at.Any(t => t > s.At && t <= s.At + window)).ToList();
                if (useful.Count == 0) continue;
                judged++;
                relevant += useful.Count;
                foundLive += useful.Count(s.Live.Contains);
                foundOther += useful.Count(s.Other.Contains);
            }
            return new RecallShadowRanking(g.Key, list.Count,
                Math.Round(list.Average(s => ShadowMetrics.OverlapAt(K, s.Live, s.Other)), 4),
                Math.Round(list.Average(s => ShadowMetrics.RankCorrelation(K, s.Live, s.Other)), 4),
                judged, relevant,
                relevant == 0 ? null : Math.Round((double)foundLive / relevant, 4),
                relevant == 0 ? null : Math.Round((double)foundOther / relevant, 4));
        }).ToList();
        return new RecallShadowReport(settings.Live.ToString(), settings.Shadow?.ToString(), settings.Shadow is null ? 0 : settings.ShadowSample,
            window.TotalHours, rankings);
    }
}

using Aetherra.Application.Common;
using Aetherra.Application.Memory;
using Aetherra.Application.Operations;
using Aetherra.Application.Recall;
using Aetherra.Domain.Homeostasis;
using Npgsql;

namespace Aetherra.Application.Homeostasis;

/// <summary>
/// The policies that act on a deviating vital. Each acts at most once per deviation (it checks the node's
/// corrections since the deviation began), so a policy is as free of flapping as the deviation itself, and
/// its result, good or bad, is recorded as CorrectionApplied. Plugin and autonomy policies wait for those
/// features (docs/operations.md).
/// </summary>
public sealed class Corrections(ProjectionOperations projections, ConsolidateMemories consolidation, NpgsqlDataSource dataSource)
{
    public const string RestartProjection = "projection.restart";
    public const string Consolidate = "memory.consolidate";
    public const string Actor = "homeostasis";

    /// <summary>Most subjects one deviation starts consolidation for (largest first).</summary>
    public const int MaxSubjects = 100;

    /// <param name="stalled">Async projections whose position did not move since the previous sample.</param>
    public async Task<IReadOnlyList<CorrectionApplied>> ApplyAsync(
        string node, Vital vital, Setpoint setpoint, IReadOnlyCollection<CorrectionView> done, IReadOnlySet<string> stalled,
        DateTimeOffset now, CancellationToken ct)
    {
        if (vital.Condition != VitalCondition.Deviating) return [];
        bool Already(string action) => done.Any(c => c.Vital == vital.Name && c.Action == action && c.At >= vital.Since);

        if (vital.Name.StartsWith(Vitals.ProjectionLagPrefix, StringComparison.Ordinal))
        {
            var projection = vital.Name[Vitals.ProjectionLagPrefix.Length..];
            // A projection that lags but advances is busy, not stuck: restarting it would only lose its batch.
            if (!stalled.Contains(projection) || Already(RestartProjection)) return [];
            return [new CorrectionApplied(node, vital.Name, now, RestartProjection, projection, await Try(() => projections.RestartAsync(projection, ct)))];
        }

        if (vital.Name == Vitals.LargestSubject && setpoint.Max is { } budget && !Already(Consolidate))
        {
            var applied = new List<CorrectionApplied>();
            foreach (var (tenant, subject) in await SubjectsOverAsync((long)budget, ct))
            {
                var command = new CommandContext(Actor, tenant, Guid.CreateVersion7(), MemoryActions.Consolidate);
                var result = await Try(async () =>
                    $"job {await consolidation.StartAsync(new ConsolidateMemoriesRequest(subject, null, null), command, ct)}");
                applied.Add(new CorrectionApplied(node, vital.Name, now, Consolidate, $"{tenant}/{subject}", result));
            }
            return applied;
        }
        return [];
    }

    private static async Task<string> Try(Func<Task<string>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return $"failed: {e.Message}";
        }
    }

    private async Task<List<(string Tenant, string Subject)>> SubjectsOverAsync(long budget, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"select tenant_id, subject from {RecallSchema.Subjects} where docs > $1 order by docs desc, tenant_id, subject limit {MaxSubjects}");
        cmd.Parameters.Add(new() { Value = budget });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var subjects = new List<(string, string)>();
        while (await reader.ReadAsync(ct)) subjects.Add((reader.GetString(0), reader.GetString(1)));
        return subjects;
    }
}

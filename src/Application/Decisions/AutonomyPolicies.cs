using Aetherra.Domain.Decisions;
using Marten;

namespace Aetherra.Application.Decisions;

/// <summary>
/// Access to an agent and category's policy for the commands that may move its threshold (an outcome, a correction).
/// They take the policy's lock first, so they run one at a time per tenant, agent and category: each sees every
/// outcome committed before it, and the rule never decides on a window missing a concurrent outcome. The policy
/// stream's version is still checked at commit (FetchForWriting), as a second guard.
/// </summary>
public static class AutonomyPolicies
{
    public static async Task LockAsync(IDocumentSession session, string tenant, Guid policyId, CancellationToken ct)
    {
        await session.BeginTransactionAsync(ct);
        await using var cmd = session.Connection!.CreateCommand();
        cmd.CommandText = "select pg_advisory_xact_lock(hashtextextended($1, 0))";
        cmd.Parameters.Add(new() { Value = $"aetherra.autonomy\u001f{tenant}\u001f{policyId}" });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The latest resolved decisions of an agent and category (at most <paramref name="window"/>), newest first.</summary>
    public static async Task<List<Resolved>> ResolvedWindowAsync(
        IQuerySession session, string agent, string category, int window, CancellationToken ct)
    {
        var rows = await session.Query<Decision>()
            .Where(d => d.Agent == agent && d.Category == category && d.Status == DecisionStatus.Resolved)
            .OrderByDescending(d => d.ResolvedAt)
            .Take(window)
            .Select(d => new { d.Confidence, d.Outcome!.Success })
            .ToListAsync(ct);
        return rows.Select(r => new Resolved(r.Confidence, r.Success)).ToList();
    }
}

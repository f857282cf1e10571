using Aetherra.Infrastructure;
using Npgsql;

namespace Aetherra.Application.Decisions;

public sealed record AutoApprovedFailureRate(string Tenant, string Agent, string Category, int Resolved, int Failures)
{
    public double FailureRate => Resolved == 0 ? 0 : (double)Failures / Resolved;
}

/// <summary>
/// For homeostasis: per tenant, agent and category, how the latest auto-approved decisions turned out (the last
/// <c>lastResolved</c> resolved ones, only those resolved at or after <c>since</c> when given). Across tenants:
/// homeostasis watches the whole system. Read from the inline Decision documents, so it is current.
/// </summary>
public static class AutoApprovedFailures
{
    public static async Task<IReadOnlyList<AutoApprovedFailureRate>> RecentAsync(
        NpgsqlDataSource dataSource, int lastResolved, DateTimeOffset? since, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            select tenant_id, agent, category, count(*)::int, count(*) filter (where not success)::int
            from (
              select tenant_id, data->>'agent' as agent, data->>'category' as category,
                     (data->'outcome'->>'success')::boolean as success,
                     row_number() over (partition by tenant_id, data->>'agent', data->>'category'
                                        order by (data->>'resolvedAt')::timestamptz desc) as n
              from {AetherraSettings.Schema}.mt_doc_decision
              where lower(data->>'status') = 'resolved' and (data->>'autoApproved')::boolean
                and ($2::timestamptz is null or (data->>'resolvedAt')::timestamptz >= $2)
            ) latest
            where n <= $1
            group by tenant_id, agent, category
            order by tenant_id, agent, category
            """);
        cmd.Parameters.Add(new() { Value = lastResolved });
        cmd.Parameters.Add(new() { Value = since.HasValue ? since.Value.ToUniversalTime() : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        var rates = new List<AutoApprovedFailureRate>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rates.Add(new AutoApprovedFailureRate(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4)));
        return rates;
    }
}

using Marten;

namespace Aetherra.Application.Ai;

public sealed record UsageItem(
    string Provider, string Model, long Calls, long Failures, long TokensIn, long TokensOut, double? P50Ms, double? P95Ms,
    double? FirstTokenP50Ms, string? LastError);

public sealed record UsageView(IReadOnlyList<UsageItem> Items);

public static class ReadUsage
{
    public static async Task<UsageView> Handle(IQuerySession session, CancellationToken ct)
    {
        var rows = await session.Query<AiUsage>().ToListAsync(ct);
        return new UsageView(rows.OrderBy(u => u.Provider).ThenBy(u => u.Model).Select(u => new UsageItem(
            u.Provider, u.Model, u.Calls.Invocations, u.Calls.Invocations - u.Calls.Successes, u.TokensIn, u.TokensOut,
            u.Calls.P50Ms, u.Calls.P95Ms, Median(u.RecentFirstTokenMs), u.Calls.LastError)).ToList());
    }

    private static double? Median(List<double> values) =>
        values.Count == 0 ? null : values.Order().ElementAt((values.Count - 1) / 2);
}

namespace Aetherra.Application.Recall;

/// <summary>
/// When a table that grows by bulk loads is due for ANALYZE: after <c>first</c> inserted rows, then each time the rows
/// inserted since the last analysis reach the number counted at it (10,000, 20,000, 40,000, ...), per table. The planner
/// then never works from statistics of a table less than half its size, at a logarithmic number of analyses.
/// </summary>
public sealed class PlannerStatistics(int first)
{
    private readonly Dictionary<string, (long Total, long Since)> tables = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    public bool Due(string table, int inserted)
    {
        if (inserted <= 0) return false;
        lock (gate)
        {
            var (total, since) = tables.GetValueOrDefault(table);
            total += inserted;
            since += inserted;
            var due = since >= Math.Max(first, total - since);
            tables[table] = (total, due ? 0 : since);
            return due;
        }
    }
}

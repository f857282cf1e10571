using Npgsql;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// "Every async read model equals a rebuild of it from the log": what the backup drill checks after a restore and
/// the cluster test after a node was killed mid-work (an event skipped or applied twice shows up as a difference).
/// </summary>
internal static class ReadModels
{
    private static readonly string[] NotReadModels =
        ["mt_events", "mt_streams", "mt_event_progression", "mt_event_projection_floors", "mt_high_water_skips", "recall_state", "audit_checkpoints"];

    /// <summary>
    /// Rebuilds every async projection as of <paramref name="sequence"/>, side by side, each into a schema of its own,
    /// and asserts that each rebuilt table equals <paramref name="live"/>'s (a <see cref="SnapshotAsync"/> of the store).
    /// </summary>
    public static async Task AssertEqualToRebuildsAsync(
        HttpClient admin, string connectionString, Dictionary<string, List<string>> live, long sequence, CancellationToken ct)
    {
        var projections = (await (await admin.GetAsync("/admin/projections", ct)).Json()).EnumerateArray()
            .Where(p => p.GetProperty("lifecycle").GetString() == "async").Select(p => p.GetProperty("name").GetString()!).ToArray();
        Assert.Contains("RecallEntry", projections);
        Assert.Contains("AuditLog", projections);
        var schemas = projections.ToDictionary(p => p, p => $"check_{p.ToLowerInvariant()}_{Guid.NewGuid():N}"[..40]);
        await Task.WhenAll(projections.Select(p => admin.RebuildAsync(p, new { asOfSequence = sequence, targetSchema = schemas[p] })));
        foreach (var projection in projections)
        {
            var rebuilt = await SnapshotAsync(connectionString, schemas[projection], ct);
            foreach (var (table, rows) in rebuilt.Where(t => t.Value.Count > 0))
            {
                var was = live.GetValueOrDefault(table) ?? [];
                Assert.True(was.SequenceEqual(rows),
                    $"{projection}: {table} differs from its rebuild:\nrebuilt {string.Join("\n", rows.Except(was))}\nlive {string.Join("\n", was.Except(rows))}");
            }
            if (projection is "RecallEntry" or "AuditLog" or "LearningLoop")
                Assert.True(rebuilt.Any(t => t.Value.Count > 0), $"{projection} rebuilt nothing to compare");
        }
    }

    /// <summary>
    /// Each read-model table of the schema (not the log itself), as sorted row texts of its content columns:
    /// Marten's bookkeeping columns (mt_last_modified, mt_version, mt_dotnet_type) say when and by which write
    /// a document was stored, not what it holds.
    /// </summary>
    public static async Task<Dictionary<string, List<string>>> SnapshotAsync(string connectionString, string schema, CancellationToken ct)
    {
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync(ct);
        var tables = new Dictionary<string, List<string>>();
        await using (var cmd = new NpgsqlCommand("""
            select table_name, string_agg(quote_ident(column_name), ', ' order by ordinal_position)
            from information_schema.columns where table_schema = $1 and column_name not in ('mt_last_modified', 'mt_version', 'mt_dotnet_type')
              and (table_name like 'mt\_doc\_%' or table_name like 'recall\_%' or table_name like 'audit\_%')
            group by table_name
            """, db))
        {
            cmd.Parameters.Add(new() { Value = schema });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) tables[reader.GetString(0)] = [reader.GetString(1)];
        }
        foreach (var table in tables.Keys.Where(t => !NotReadModels.Contains(t)).ToList())
        {
            var columns = tables[table][0];
            var rows = new List<string>();
            await using var cmd = new NpgsqlCommand($"select row({columns})::text as r from {schema}.{table} order by 1", db);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) rows.Add(reader.GetString(0));
            tables[table] = rows;
        }
        foreach (var excluded in NotReadModels) tables.Remove(excluded);
        return tables;
    }
}

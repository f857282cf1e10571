using Npgsql;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>The rows of mt_events as the audit log hashes them, read in global sequence order, all tenants.</summary>
public static class StoredEvents
{
    private const string Events = $"{AetherraSettings.Schema}.mt_events";
    private const string Select = $"select seq_id, stream_id, version, type, timestamp, tenant_id, data::text from {Events}";

    /// <summary>Events with after &lt; sequence &lt;= upTo, streamed (constant memory on any range).</summary>
    public static async IAsyncEnumerable<StoredEvent> ReadAsync(
        NpgsqlConnection connection, long after, long upTo,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, string events = Events, int? limit = null)
    {
        await using var cmd = new NpgsqlCommand(
            $"{Select.Replace(Events, events)} where seq_id > $1 and seq_id <= $2 order by seq_id{(limit is { } n ? $" limit {n}" : "")}", connection);
        cmd.Parameters.Add(new() { Value = after });
        cmd.Parameters.Add(new() { Value = upTo });
        await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct)) yield return Read(reader);
    }

    /// <summary>
    /// The leaf hashes of the events with after &lt; sequence &lt;= upTo, streamed: what verification recomputes.
    /// The JSON is asked for as the UTF-8 bytes of data::text (convert_to), which are the bytes data::text
    /// arrives as, so the hasher copies them instead of decoding and re-encoding a string per event.
    /// </summary>
    public static async IAsyncEnumerable<(long Sequence, byte[] Hash)> ReadLeafHashesAsync(
        NpgsqlConnection connection, long after, long upTo,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"select seq_id, stream_id, version, type, timestamp, tenant_id, convert_to(data::text, 'UTF8') from {AetherraSettings.Schema}.mt_events " +
            "where seq_id > $1 and seq_id <= $2 order by seq_id", connection);
        cmd.Parameters.Add(new() { Value = after });
        cmd.Parameters.Add(new() { Value = upTo });
        var hasher = new AuditLeafHasher();
        await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            var hash = hasher.HashOf(reader, out var sequence);
            yield return (sequence, hash);
        }
    }

    /// <summary>
    /// As <see cref="ReadAsync"/>, with the metadata the leaf does not hash but an import restores: the event's id,
    /// user and correlation id.
    /// </summary>
    public static async IAsyncEnumerable<(StoredEvent Event, Guid Id, string? UserName, string? CorrelationId)> ReadWithMetadataAsync(
        NpgsqlConnection connection, long after, long upTo, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"select seq_id, stream_id, version, type, timestamp, tenant_id, data::text, id, user_name, correlation_id from {Events} " +
            "where seq_id > $1 and seq_id <= $2 order by seq_id", connection);
        cmd.Parameters.Add(new() { Value = after });
        cmd.Parameters.Add(new() { Value = upTo });
        await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
            yield return (Read(reader), reader.GetGuid(7), reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9));
    }

    public static async Task<StoredEvent?> FindAsync(NpgsqlDataSource db, long sequence, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"{Select} where seq_id = $1");
        cmd.Parameters.Add(new() { Value = sequence });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static StoredEvent Read(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetGuid(1), r.GetInt64(2), r.GetString(3),
        (r.GetFieldValue<DateTime>(4).Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond,
        r.GetString(5), r.GetString(6));
}

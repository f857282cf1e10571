using System.Text.Json;
using System.Text.Json.Nodes;
using Aetherra.Application.Common;
using Aetherra.Application.Memory;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using Npgsql;

namespace Aetherra.Application.Events;

public sealed record FeedEvent(long Sequence, Guid StreamId, string Type, long Version, DateTimeOffset Timestamp, JsonNode? Data);

/// <summary>One event of the live window, as the frames a reader with and without memory:read is sent.</summary>
public sealed record LiveEvent(long Sequence, string Tenant, string Type, byte[] Full, byte[] Limited);

/// <summary>A page of events; <c>Ceiling</c> is the high-water mark it was read under (nothing below it is missing).</summary>
public sealed record FeedPage(IReadOnlyList<FeedEvent> Events, long? Next, long Ceiling);

/// <summary>
/// The tenant's events in global order, read only up to the daemon's high-water mark: below it every
/// sequence is either committed or known to be a gap, so an event whose transaction commits late is
/// delivered when it commits instead of being skipped. Memory content leaves sealed in the store and is
/// shown opened here only where the caller may read it: confidential content only to keys with
/// memory:read, nothing once the subject's key is destroyed. Sequences are those of the tenant's database
/// (TenantDatabases): a tenant lives in one database, so its feed is that database's order, filtered by tenant.
/// </summary>
public sealed class EventFeed(TenantDatabases databases, SubjectKeyStore keys)
{
    public const int MaxLimit = 1000;
    private const string S = AetherraSettings.Schema;

    /// <summary>The highest sequence of a database below which nothing can still appear.</summary>
    public static async Task<long> HighWaterMarkAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(Common.Consistency.HighWaterMarkSql);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public async Task<FeedPage> ReadAsync(
        string tenant, long after, int limit, IReadOnlyCollection<string>? types, bool mayReadMemories, CancellationToken ct)
    {
        var dataSource = databases.For(tenant);
        var ceiling = await HighWaterMarkAsync(dataSource, ct);
        await using var cmd = dataSource.CreateCommand($"""
            select seq_id, stream_id, type, version, timestamp, data::text from {S}.mt_events
            where tenant_id = $1 and seq_id > $2 and seq_id <= $3 and ($4::text[] is null or type = any($4))
            order by seq_id limit $5
            """);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = after });
        cmd.Parameters.Add(new() { Value = ceiling });
        cmd.Parameters.Add(new() { Value = types is { Count: > 0 } ? types.ToArray() : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = limit });
        var events = new List<FeedEvent>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                events.Add(new FeedEvent(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3),
                    reader.GetFieldValue<DateTimeOffset>(4), JsonNode.Parse(reader.GetString(5))));
        await OpenContentAsync(tenant, events, mayReadMemories, ct);
        // A full page may have more after it; a short one reached the high-water mark for now.
        var next = events.Count == limit ? events[^1].Sequence : (long?)null;
        return new FeedPage(events, next, ceiling);
    }

    /// <summary>
    /// Every tenant's events of one database with after &lt; sequence &lt;= upTo (a range below its high-water mark), each as the
    /// SSE frame a reader with memory:read gets and the one a reader without it gets: what the live window
    /// shares among all subscribers, read, opened and serialised once.
    /// </summary>
    public async Task<IReadOnlyList<LiveEvent>> ReadAllAsync(NpgsqlDataSource dataSource, long after, long upTo, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            select tenant_id, seq_id, stream_id, type, version, timestamp, data::text from {S}.mt_events
            where seq_id > $1 and seq_id <= $2 order by seq_id
            """);
        cmd.Parameters.Add(new() { Value = after });
        cmd.Parameters.Add(new() { Value = upTo });
        var rows = new List<(string Tenant, FeedEvent Event)>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                rows.Add((reader.GetString(0), new FeedEvent(reader.GetInt64(1), reader.GetGuid(2), reader.GetString(3), reader.GetInt64(4),
                    reader.GetFieldValue<DateTimeOffset>(5), JsonNode.Parse(reader.GetString(6)))));

        var frames = new Dictionary<FeedEvent, (byte[] Full, byte[] Limited)>();
        foreach (var byTenant in rows.GroupBy(r => r.Tenant))
        {
            var events = byTenant.Select(r => r.Event).ToList();
            var limited = await OpenContentAsync(byTenant.Key, events, true, ct);
            foreach (var e in events)
            {
                var full = Frame(e);
                if (limited.Contains(e))
                {
                    e.Data!["content"] = null;
                    frames[e] = (full, Frame(e));
                }
                else frames[e] = (full, full);
            }
        }
        return rows.Select(r => new LiveEvent(r.Event.Sequence, r.Tenant, r.Event.Type, frames[r.Event].Full, frames[r.Event].Limited)).ToList();
    }

    /// <summary>An event as one server-sent event: its global sequence as id, its type as event name.</summary>
    public static byte[] Frame(FeedEvent e) =>
        System.Text.Encoding.UTF8.GetBytes($"id: {e.Sequence}\nevent: {e.Type}\ndata: {JsonSerializer.Serialize(e, JsonSerializerOptions.Web)}\n\n");

    /// <summary>
    /// Replaces each memory event's sealed content by its text where the caller may see it, else null.
    /// Answers the events whose content a reader without memory:read may not see (confidential ones).
    /// </summary>
    private async Task<HashSet<FeedEvent>> OpenContentAsync(string tenant, List<FeedEvent> events, bool mayReadMemories, CancellationToken ct)
    {
        var hidden = new HashSet<FeedEvent>();
        var sealedOnes = events.Where(e => e.Data?["content"] is JsonObject && e.Type.StartsWith("memory.", StringComparison.Ordinal)).ToList();
        if (sealedOnes.Count == 0) return hidden;
        var classification = await ClassificationsAsync(tenant, sealedOnes, ct);
        var sealedTexts = sealedOnes.ToDictionary(e => e, e => e.Data!["content"]!.Deserialize<EncryptedText>(JsonSerializerOptions.Web));
        var found = await keys.FindAsync(tenant, sealedTexts.Values.Where(s => s is not null).Select(s => s!.KeyId).Distinct().ToList(), ct);
        try
        {
            foreach (var e in sealedOnes)
            {
                var memoryId = e.Data!["memoryId"]!.GetValue<Guid>();
                // Unknown classification counts as confidential: when in doubt, show less.
                var confidential = !classification.TryGetValue(memoryId, out var c) || c == Classification.Confidential;
                if (confidential) hidden.Add(e);
                e.Data!["content"] = !confidential || mayReadMemories
                    ? MemoryContent.Open(found, tenant, memoryId, sealedTexts[e])
                    : null;
            }
        }
        finally
        {
            foreach (var key in found.Values) key.Dispose();
        }
        return hidden;
    }

    /// <summary>
    /// Each memory's classification: a recorded event carries it, so only the other memory events (revised)
    /// ask the Memory documents.
    /// </summary>
    private async Task<Dictionary<Guid, Classification>> ClassificationsAsync(string tenant, List<FeedEvent> events, CancellationToken ct)
    {
        var result = new Dictionary<Guid, Classification>();
        foreach (var e in events)
            if (e.Data!["classification"]?.GetValue<string>() is { } stated && Enum.TryParse<Classification>(stated, true, out var c))
                result[e.Data!["memoryId"]!.GetValue<Guid>()] = c;
        var ids = events.Select(e => e.Data!["memoryId"]!.GetValue<Guid>()).Where(id => !result.ContainsKey(id)).Distinct().ToArray();
        if (ids.Length == 0) return result;
        await using var cmd = databases.For(tenant).CreateCommand(
            $"select id, data->>'classification' from {S}.mt_doc_memory where tenant_id = $1 and id = any($2)");
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = ids });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            result[reader.GetGuid(0)] = Enum.TryParse<Classification>(reader.IsDBNull(1) ? null : reader.GetString(1), true, out var c) ? c : Classification.Confidential;
        return result;
    }
}

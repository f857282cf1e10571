using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.AuditLog;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;
using NpgsqlTypes;

namespace Aetherra.Api.Events;

/// <summary>What <c>aetherra events export</c> writes as its last line.</summary>
public sealed record EventsTrailer(
    string Format, long Count, long FromSequence, long LastSequence, long TreeSize, string RootHash, string Sha256, string Origin,
    string PublicKey, string Checkpoint);

/// <summary>An import refused before anything was written, with the reason.</summary>
public sealed class ImportRefused(string reason) : Exception(reason);

/// <summary>
/// <c>aetherra events import</c>: an exported log into an empty store. First the file is checked without touching
/// the store (the lines' SHA-256, count and sequences against the trailer, the Merkle root recomputed from the lines,
/// the trailer's signed checkpoint of that root); then, in one transaction, every event is copied in with its global
/// sequence, stream id, version, type, timestamp, tenant, user and correlation id (binary COPY, as Marten's own rows),
/// the streams and the event sequence set after them; then every projection is rebuilt from the imported log. The
/// leaves hash the same fields, so the rebuilt audit log has the exported root at the exported size.
/// </summary>
public static class EventImport
{
    private const string Events = $"{AetherraSettings.Schema}.mt_events";
    private const string Streams = $"{AetherraSettings.Schema}.mt_streams";

    private sealed record Line(
        long Sequence, Guid StreamId, long Version, string Type, long TimestampMicros, string Tenant, string Data, Guid? Id,
        string? UserName, string? CorrelationId)
    {
        public StoredEvent Stored => new(Sequence, StreamId, Version, Type, TimestampMicros, Tenant, Data);
        public DateTimeOffset Timestamp => DateTimeOffset.UnixEpoch.AddTicks(TimestampMicros * TimeSpan.TicksPerMicrosecond);
    }

    /// <param name="publicKey">the log's key obtained independently; null: the key the trailer names (integrity only)</param>
    public static async Task<EventsTrailer> VerifyAsync(string path, byte[]? publicKey, Action<long> progress, CancellationToken ct)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var frontier = new MerkleFrontier();
        var hasher = new AuditLeafHasher();
        long count = 0, last = 0;
        string? previous = null;
        await foreach (var text in File.ReadLinesAsync(path, ct))
        {
            if (previous is not null)
            {
                var line = Parse(previous, count + 1);
                if (line.Sequence <= last) throw new ImportRefused($"line {count + 1}: sequence {line.Sequence} does not follow {last}");
                sha.AppendData(Encoding.UTF8.GetBytes(previous));
                sha.AppendData("\n"u8);
                frontier.Append(hasher.HashOf(line.Stored));
                last = line.Sequence;
                if (++count % 4096 == 0) progress(count);
            }
            previous = text;
        }
        progress(count);
        var trailer = previous is null ? null : ParseTrailer(previous);
        if (trailer is null) throw new ImportRefused("the file has no trailer: it is not a complete `aetherra events export`");
        if (trailer.Format != EventsCommand.Format) throw new ImportRefused($"format {trailer.Format}, not {EventsCommand.Format}");
        if (trailer.FromSequence != 1) throw new ImportRefused($"the export starts at sequence {trailer.FromSequence}: an import takes a whole log (--from-sequence 1)");
        if (trailer.Count != count) throw new ImportRefused($"the trailer counts {trailer.Count} events, the file holds {count}");
        if (count > 0 && trailer.LastSequence != last) throw new ImportRefused($"the trailer's last sequence is {trailer.LastSequence}, the file's {last}");
        if (!string.Equals(trailer.Sha256, Convert.ToHexStringLower(sha.GetHashAndReset()), StringComparison.Ordinal))
            throw new ImportRefused("the lines' SHA-256 is not the trailer's: the file was changed");
        if (trailer.TreeSize != frontier.Size || trailer.RootHash != Convert.ToBase64String(frontier.Root()))
            throw new ImportRefused($"the events recompute to root {Convert.ToBase64String(frontier.Root())} at size {frontier.Size}, not the trailer's {trailer.RootHash} at {trailer.TreeSize}");
        var named = Convert.FromBase64String(trailer.PublicKey);
        if (publicKey is not null && !publicKey.AsSpan().SequenceEqual(named))
            throw new ImportRefused("the trailer is signed with another key than the one given");
        var checkpoint = CheckpointNote.Open(trailer.Checkpoint, trailer.Origin, publicKey ?? named);
        if (checkpoint is null || checkpoint.TreeSize != trailer.TreeSize || Convert.ToBase64String(checkpoint.RootHash) != trailer.RootHash)
            throw new ImportRefused("the trailer's checkpoint is not a valid signature of its root and size");
        return trailer;
    }

    /// <summary>Copies the verified file's events into the store, which must hold no event and no stream.</summary>
    public static async Task ImportAsync(string path, IDocumentStore store, NpgsqlDataSource db, Action<long> progress, CancellationToken ct)
    {
        // The schema a server applies at start: Marten's, then the store's own tables (subject keys, API keys, jobs).
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await Infrastructure.Database.DatabaseBootstrap.ApplyAsync(db, ct);
        var types = store.Options.Events.AllKnownEventTypes().GroupBy(t => t.EventTypeName).ToDictionary(g => g.Key, g => g.First().DotNetTypeName);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Other writers wait for the import, and it sees the store as it is.
        await using (var lockCmd = new NpgsqlCommand($"lock table {Events}, {Streams} in exclusive mode", connection, tx))
            await lockCmd.ExecuteNonQueryAsync(ct);
        await using (var empty = new NpgsqlCommand($"select exists (select 1 from {Events}) or exists (select 1 from {Streams})", connection, tx))
            if ((bool)(await empty.ExecuteScalarAsync(ct))!)
                throw new ImportRefused("the store is not empty: import into a new database (nothing was written)");

        // The streams first (each event row refers to its stream), from a first pass over the file.
        var streams = new Dictionary<(string Tenant, Guid Id), (long Version, DateTimeOffset Created, DateTimeOffset Last)>();
        long count = 0, last = 0;
        await foreach (var e in EventsOf(path, ct))
        {
            var key = (e.Tenant, e.StreamId);
            streams[key] = streams.TryGetValue(key, out var s) ? (Math.Max(s.Version, e.Version), s.Created, e.Timestamp) : (e.Version, e.Timestamp, e.Timestamp);
        }
        await using (var copy = await connection.BeginBinaryImportAsync(
                         $"copy {Streams} (tenant_id, id, version, timestamp, created, is_archived) from stdin (format binary)", ct))
        {
            foreach (var ((tenant, id), (version, created, lastAt)) in streams)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(tenant, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(id, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(version, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(lastAt, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(created, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(false, NpgsqlDbType.Boolean, ct);
            }
            await copy.CompleteAsync(ct);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(
                         $"copy {Events} (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type, correlation_id, user_name, is_archived) from stdin (format binary)", ct))
        {
            await foreach (var e in EventsOf(path, ct))
            {
                if (!types.TryGetValue(e.Type, out var type))
                    throw new ImportRefused($"sequence {e.Sequence}: event type {e.Type} is unknown to this build (export and import with the same version)");
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(e.Sequence, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(e.Id ?? Guid.CreateVersion7(), NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(e.StreamId, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(e.Version, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(e.Data, NpgsqlDbType.Jsonb, ct);
                await copy.WriteAsync(e.Type, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(e.Timestamp, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(e.Tenant, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(type, NpgsqlDbType.Varchar, ct);
                await WriteNullableAsync(copy, e.CorrelationId, ct);
                await WriteNullableAsync(copy, e.UserName, ct);
                await copy.WriteAsync(false, NpgsqlDbType.Boolean, ct);
                last = e.Sequence;
                if (++count % 4096 == 0) progress(count);
            }
            await copy.CompleteAsync(ct);
        }
        progress(count);
        if (last > 0)
        {
            await using var sequence = new NpgsqlCommand($"select setval('{Events}_sequence', $1)", connection, tx);
            sequence.Parameters.Add(new() { Value = last });
            await sequence.ExecuteScalarAsync(ct);
        }
        await tx.CommitAsync(ct);
    }

    /// <summary>Every projection (inline and async) rebuilt from the imported log, one after another.</summary>
    public static async Task RebuildAsync(IDocumentStore store, NpgsqlDataSource db, Action<string> starting, CancellationToken ct)
    {
        var projections = ((DocumentStore)store).Options.Projections.All.Where(p => p.Lifecycle != ProjectionLifecycle.Live).Select(p => p.Name).ToList();
        var daemon = await store.BuildProjectionDaemonAsync();
        try
        {
            foreach (var name in projections)
            {
                starting(name);
                await daemon.RebuildProjectionAsync(name, TimeSpan.FromHours(6), ct);
            }
        }
        finally
        {
            await daemon.StopAllAsync();
        }
        // As after any rebuild of recall (AnalysisRebuild): what a subject without a data key wrote is not kept.
        await using var connection = await db.OpenConnectionAsync(ct);
        await Application.Recall.RecallSchema.EraseKeylessSubjectsAsync(connection, AetherraSettings.Schema, ct);
    }

    /// <summary>The event lines of a (verified) export: every line but the trailer.</summary>
    private static async IAsyncEnumerable<Line> EventsOf(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? previous = null;
        long number = 0;
        await foreach (var text in File.ReadLinesAsync(path, ct))
        {
            if (previous is not null) yield return Parse(previous, ++number);
            previous = text;
        }
    }

    private static Line Parse(string text, long number)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var e = doc.RootElement;
            return new Line(e.GetProperty("sequence").GetInt64(), e.GetProperty("streamId").GetGuid(), e.GetProperty("version").GetInt64(),
                e.GetProperty("type").GetString()!, e.GetProperty("timestampMicros").GetInt64(), e.GetProperty("tenant").GetString()!,
                e.GetProperty("data").GetString()!,
                e.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetGuid() : null,
                e.TryGetProperty("userName", out var user) && user.ValueKind == JsonValueKind.String ? user.GetString() : null,
                e.TryGetProperty("correlationId", out var correlation) && correlation.ValueKind == JsonValueKind.String ? correlation.GetString() : null);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ImportRefused($"line {number} is not an exported event: {ex.Message}");
        }
    }

    private static EventsTrailer? ParseTrailer(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.TryGetProperty("trailer", out var t) ? t.Deserialize<EventsTrailer>(JsonSerializerOptions.Web) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken ct)
    {
        if (value is null) await copy.WriteNullAsync(ct);
        else await copy.WriteAsync(value, NpgsqlDbType.Varchar, ct);
    }
}

using System.Buffers;
using Marten;
using Marten.Events;
using Npgsql;
using NpgsqlTypes;

namespace Aetherra.Infrastructure.EventStore;

/// <summary>A new stream of exactly one event, and the inline snapshot document that event folds to.</summary>
public sealed record NewStream(Guid Id, object Event, object Snapshot);

/// <summary>
/// Starts many one-event streams with binary COPY inside the caller's transaction: the rows Marten itself
/// would write (stream, event with its metadata, inline snapshot document), without a statement per row.
/// Sequences come from Marten's own sequence, so the async daemon and every reader see these events exactly
/// like appended ones. What it does not do is run projections: the caller hands the snapshot each event
/// folds to, and must not use this for event types that other inline projections consume.
/// </summary>
public static class NewStreamCopy
{
    /// <param name="reserved">Given the sequences taken for the events as soon as they are taken: if the caller's transaction
    /// fails, they are its to write as tombstones (<see cref="EventRows.WriteTombstonesAsync"/>).</param>
    /// <returns>The global sequence of the last event written.</returns>
    public static async Task<long> WriteAsync(
        NpgsqlConnection connection, IDocumentStore store, string tenant, string? user, string? correlationId,
        DateTimeOffset now, IReadOnlyList<NewStream> streams, CancellationToken ct, List<long>? reserved = null)
    {
        if (streams.Count == 0) throw new ArgumentException("nothing to write", nameof(streams));
        var options = store.Options;
        var events = (EventGraph)options.Events;
        var serializer = options.Serializer();
        var schema = options.Schema;
        var snapshotType = streams[0].Snapshot.GetType();
        var streamType = events.AggregateAliasFor(snapshotType);
        var sequences = await EventRows.ReserveSequencesAsync(connection, events.DatabaseSchemaName, streams.Count, ct);
        reserved?.AddRange(sequences);
        var at = now.ToUniversalTime();
        // Each row's JSON is written as UTF-8 straight into one reused buffer (what Marten's own appends send), not
        // as a string that Npgsql then transcodes: a batch of 1,000 is 2,000 documents.
        var json = new ArrayBufferWriter<byte>(4096);

        await using (var copy = await connection.BeginBinaryImportAsync(
                         $"copy {schema.ForStreams(true)} (tenant_id, id, type, version, timestamp, created, is_archived) from stdin (format binary)", ct))
        {
            foreach (var stream in streams)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(tenant, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(stream.Id, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(streamType, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(1L, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(false, NpgsqlDbType.Boolean, ct);
            }
            await copy.CompleteAsync(ct);
        }

        // A batch's events are nearly always of one type: its names are looked up once per run of that type, not per row
        // (Assembly.GetName() per row was 1.5 % of the server's samples during an import).
        Type? lastType = null;
        string typeName = "", dotNetType = "";
        await using (var copy = await connection.BeginBinaryImportAsync(
                         $"copy {schema.ForEvents(true)} (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type, correlation_id, user_name, is_archived) from stdin (format binary)", ct))
        {
            for (var i = 0; i < streams.Count; i++)
            {
                var type = streams[i].Event.GetType();
                if (type != lastType) (lastType, typeName, dotNetType) = (type, events.EventMappingFor(type).EventTypeName, DotNetTypeName(type));
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(sequences[i], NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(streams[i].Id, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(1L, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(Json(json, serializer, streams[i].Event), NpgsqlDbType.Jsonb, ct);
                await copy.WriteAsync(typeName, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(tenant, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(dotNetType, NpgsqlDbType.Varchar, ct);
                await WriteNullableAsync(copy, correlationId, ct);
                await WriteNullableAsync(copy, user, ct);
                await copy.WriteAsync(false, NpgsqlDbType.Boolean, ct);
            }
            await copy.CompleteAsync(ct);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(
                         $"copy {schema.For(snapshotType, true)} (tenant_id, id, data, mt_last_modified, mt_dotnet_type, mt_version) from stdin (format binary)", ct))
        {
            var documentType = EventRows.DocumentTypeName(snapshotType);
            foreach (var stream in streams)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(tenant, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(stream.Id, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(Json(json, serializer, stream.Snapshot), NpgsqlDbType.Jsonb, ct);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(documentType, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(1L, NpgsqlDbType.Bigint, ct);
            }
            await copy.CompleteAsync(ct);
        }

        return sequences[^1];
    }

    private static ReadOnlyMemory<byte> Json(ArrayBufferWriter<byte> buffer, ISerializer serializer, object value)
    {
        buffer.ResetWrittenCount();
        serializer.WriteTo(buffer, value);
        return buffer.WrittenMemory;
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken ct)
    {
        if (value is null) await copy.WriteNullAsync(ct);
        else await copy.WriteAsync(value, NpgsqlDbType.Varchar, ct);
    }

    // The form Marten stores in an event's mt_dotnet_type: "Namespace.Type, Assembly" (a document's is the full name alone).
    private static string DotNetTypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}

using JasperFx.Events;
using Marten;
using Marten.Events;
using Npgsql;
using NpgsqlTypes;

namespace Aetherra.Infrastructure.EventStore;

/// <summary>
/// The rows Marten's rich append writes for events, as statements of a batch the caller sends itself: the same
/// columns and values Marten's own statements carry (PostgreSQL's statement log of a Marten append shows them),
/// so the async daemon, the inline projections' rebuilds and every reader see these events exactly like appended
/// ones. For a hot path that must write in one round trip with its commit (the task claim); anything else appends
/// through a session.
/// </summary>
public sealed class EventRows(IDocumentStore store, string tenant, string? user, string? correlationId)
{
    private readonly EventGraph _events = (EventGraph)store.Options.Events;
    private readonly ISerializer _serializer = store.Options.Serializer();
    private readonly string _schema = store.Options.Events.DatabaseSchemaName;

    /// <summary>
    /// The event as the session would have prepared it: stream, version, global sequence, Marten's timestamp
    /// (its TimeProvider, as rich appends stamp events), tenant, actor and correlation. Inline projections fold
    /// this very object.
    /// </summary>
    public IEvent Prepare(Guid streamId, long version, long sequence, object data)
    {
        var e = _events.BuildEvent(data);
        e.Id = Guid.NewGuid();
        e.StreamId = streamId;
        e.Version = version;
        e.Sequence = sequence;
        e.Timestamp = _events.TimeProvider.GetUtcNow();
        e.TenantId = tenant;
        e.UserName = user;
        e.CorrelationId = correlationId;
        return e;
    }

    /// <summary>Marten's <c>insert into mt_events</c> of one rich-appended event.</summary>
    public NpgsqlBatchCommand Insert(IEvent e)
    {
        var cmd = new NpgsqlBatchCommand(
            $"insert into {_schema}.mt_events (data, type, mt_dotnet_type, bdata, id, stream_id, version, timestamp, tenant_id, correlation_id, user_name, seq_id) " +
            "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
        cmd.Parameters.Add(new() { Value = _serializer.ToJson(e.Data), NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(new() { Value = e.EventTypeName, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = e.DotNetTypeName, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        cmd.Parameters.Add(new() { Value = e.Id, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new() { Value = e.StreamId, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new() { Value = e.Version, NpgsqlDbType = NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new() { Value = e.Timestamp, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = tenant, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = (object?)e.CorrelationId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = (object?)e.UserName ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = e.Sequence, NpgsqlDbType = NpgsqlDbType.Bigint });
        return cmd;
    }

    /// <summary>
    /// Marten's stream row of a stream started by the session (no aggregate type: StartStream without one).
    /// </summary>
    public NpgsqlBatchCommand StartStream(Guid id, long version)
    {
        var cmd = new NpgsqlBatchCommand($"insert into {_schema}.mt_streams (tenant_id, id, type, version) values ($1, $2, $3, $4)");
        cmd.Parameters.Add(new() { Value = tenant, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = id, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new() { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = version, NpgsqlDbType = NpgsqlDbType.Bigint });
        return cmd;
    }

    /// <summary>
    /// Marten's version bump of an existing stream appended at an expected version. A stream that moved on since
    /// makes the event insert at <paramref name="expected"/> + 1 fail on Marten's unique (tenant, stream, version)
    /// index, which aborts the batch before its commit (<see cref="IsVersionConflict"/>).
    /// </summary>
    public NpgsqlBatchCommand MoveStream(Guid id, long expected, long version)
    {
        var cmd = new NpgsqlBatchCommand($"update {_schema}.mt_streams set version = $1 where id = $2 and version = $3 and tenant_id = $4 returning version");
        cmd.Parameters.Add(new() { Value = version, NpgsqlDbType = NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new() { Value = id, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new() { Value = expected, NpgsqlDbType = NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new() { Value = tenant, NpgsqlDbType = NpgsqlDbType.Varchar });
        return cmd;
    }

    /// <summary>Another writer appended to the stream first (the same failure Marten reports as a version conflict).</summary>
    public static bool IsVersionConflict(Exception e) =>
        Database.StoreFailures.Postgres(e) is { SqlState: "23505" } pg
        && (pg.ConstraintName?.Contains("mt_events_stream_and_version", StringComparison.OrdinalIgnoreCase) ?? false);

    /// <summary>
    /// Global sequences taken from Marten's own sequence ahead of the rows that carry them, in ascending order (the
    /// daemon and readers see events in sequence order).
    /// </summary>
    public static async Task<long[]> ReserveSequencesAsync(NpgsqlConnection connection, string schema, int count, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"select nextval('{schema}.mt_events_sequence') from generate_series(1, $1)", connection);
        cmd.Parameters.Add(new() { Value = count, NpgsqlDbType = NpgsqlDbType.Integer });
        var sequences = new long[count];
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        for (var i = 0; await reader.ReadAsync(ct); i++) sequences[i] = reader.GetInt64(0);
        Array.Sort(sequences);
        return sequences;
    }

    /// <summary>
    /// Marten's tombstones for global sequences this writer took and did not use, so that the log has no gap: the
    /// async daemon's high-water mark stops at a missing sequence and waits (StaleSequenceThreshold, 3 s) before it
    /// skips it, and every async read model, the live feed and every <c>minSequence</c> wait stand still meanwhile.
    /// A Marten session writes the same rows when a rich append fails after taking its sequences (JasperFx.Events'
    /// <c>Tombstone</c>: the process's tombstone stream, version = sequence, type <c>tombstone</c>, no data); no
    /// projection takes that type, and the Merkle log hashes them as the rows they are. Empty when nothing is left.
    /// </summary>
    public IEnumerable<NpgsqlBatchCommand> Tombstones(IReadOnlyCollection<long> sequences)
    {
        if (sequences.Count == 0) yield break;
        var stream = new NpgsqlBatchCommand(
            $"insert into {_schema}.mt_streams (id, tenant_id, version, is_archived) values ($1, $2, 0, false) on conflict (id, tenant_id) do nothing");
        stream.Parameters.Add(new() { Value = Tombstone.StreamId, NpgsqlDbType = NpgsqlDbType.Uuid });
        stream.Parameters.Add(new() { Value = tenant, NpgsqlDbType = NpgsqlDbType.Varchar });
        yield return stream;
        var mapping = _events.EventMappingFor(typeof(Tombstone));
        var events = new NpgsqlBatchCommand(
            $"insert into {_schema}.mt_events (data, type, mt_dotnet_type, id, stream_id, version, timestamp, tenant_id, seq_id) " +
            "select '{}'::jsonb, $1, $2, gen_random_uuid(), $3, s, $4, $5, s from unnest($6::bigint[]) s");
        events.Parameters.Add(new() { Value = mapping.EventTypeName, NpgsqlDbType = NpgsqlDbType.Varchar });
        events.Parameters.Add(new() { Value = mapping.DotNetTypeName, NpgsqlDbType = NpgsqlDbType.Varchar });
        events.Parameters.Add(new() { Value = Tombstone.StreamId, NpgsqlDbType = NpgsqlDbType.Uuid });
        events.Parameters.Add(new() { Value = _events.TimeProvider.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        events.Parameters.Add(new() { Value = tenant, NpgsqlDbType = NpgsqlDbType.Varchar });
        events.Parameters.Add(new() { Value = sequences.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        yield return events;
    }

    /// <summary>
    /// After a failed transaction (rolled back): the tombstones of every sequence it took, in a transaction of their
    /// own on the same connection, as Marten posts them after a failed session. Best effort: a broken connection
    /// leaves the gap to the daemon's skip.
    /// </summary>
    public async Task WriteTombstonesAsync(NpgsqlConnection connection, IReadOnlyCollection<long> sequences)
    {
        if (sequences.Count == 0 || connection.State != System.Data.ConnectionState.Open) return;
        try
        {
            await using var batch = new NpgsqlBatch(connection);
            foreach (var c in Tombstones(sequences)) batch.BatchCommands.Add(c);
            await batch.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
        }
    }

    /// <summary>
    /// The same on a connection of its own to the tenant's database, for a caller whose failed transaction's connection is
    /// gone (a session disposed with its rollback). Best effort as well.
    /// </summary>
    public async Task WriteTombstonesAsync(IReadOnlyCollection<long> sequences)
    {
        if (sequences.Count == 0) return;
        try
        {
            await using var connection = (await store.Storage.FindOrCreateDatabase(tenant)).CreateConnection();
            await connection.OpenAsync(CancellationToken.None);
            await WriteTombstonesAsync(connection, sequences);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The daemon skips a gap it cannot see filled, after its stale-sequence wait.
        }
    }

    /// <summary>The version stamp Marten gives a document it upserts (a sequential Guid).</summary>
    public static Guid NewDocumentVersion() => Guid.CreateVersion7();

    /// <summary>The form Marten stores in a document's mt_dotnet_type: the type's full name.</summary>
    public static string DocumentTypeName(Type type) => type.FullName!;
}

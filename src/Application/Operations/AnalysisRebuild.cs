using Aetherra.Domain;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Jobs;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Operations;

/// <summary>
/// How the host configures its event store (connection, tenancy, every feature's event names and projections),
/// for a given schema: an analysis rebuild builds a store of the same shape in a schema of its own.
/// </summary>
public sealed record StoreShape(Action<StoreOptions, string, IServiceProvider> Configure);

/// <summary>
/// Rebuilds one async projection as of a global sequence (or an instant) into a schema of its own, for analysis,
/// without touching the live read models. The log up to that sequence is copied into the schema (streams at
/// their versions of then, events as stored), and a store of the same shape in that schema runs Marten's own
/// rebuild over the copy: the projection's code is the live code, it cannot see a later event, and its
/// progress, documents and tables are all in the analysis schema. The copy stays, so the read model can be
/// queried beside the log it came from.
/// </summary>
public sealed class AnalysisRebuild(
    StoreShape shape, IServiceProvider services, NpgsqlDataSource dataSource, JobRunner jobs, ILoggerFactory logs,
    IEnumerable<IBulkRebuild> bulkRebuilds)
{
    private const string Live = AetherraSettings.Schema;

    /// <summary>The comment an analysis schema carries: only such a schema may be replaced by another rebuild.</summary>
    public const string Marker = "aetherra analysis rebuild";

    public async Task<Guid> StartAsync(string projection, RebuildProjection request, string tenant, long highWater, CancellationToken ct)
    {
        var asOf = await CeilingAsync(request, highWater, ct);
        var schema = request.TargetSchema ?? $"{projection.ToLowerInvariant()}_asof_{asOf}";
        if (await SchemaCommentAsync(schema, ct) is { } comment && !comment.StartsWith(Marker, StringComparison.Ordinal))
            throw new DomainRuleViolated($"schema {schema} exists and is not an analysis schema: choose another targetSchema");

        return await jobs.StartAsync(tenant, "projection.rebuild-as-of", async (progress, stop) =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(stop);
            // One rebuild into a schema at a time: a session lock, released at the end. A pooled connection
            // keeps its session (and the lock) when it goes back to the pool, so it is released explicitly.
            await using (var locked = new NpgsqlCommand("select pg_try_advisory_lock(hashtext('aetherra.analysis.' || $1))", connection))
            {
                locked.Parameters.Add(new() { Value = schema });
                if (!(bool)(await locked.ExecuteScalarAsync(stop))!)
                    throw new InvalidOperationException($"another rebuild into {schema} is running");
            }
            try
            {
                return await BuildAsync(connection, projection, schema, asOf, progress, stop);
            }
            finally
            {
                await using var unlock = new NpgsqlCommand("select pg_advisory_unlock(hashtext('aetherra.analysis.' || $1))", connection);
                unlock.Parameters.Add(new() { Value = schema });
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }, ct);
    }

    private async Task<object> BuildAsync(NpgsqlConnection connection, string projection, string schema, long asOf, JobProgress progress, CancellationToken stop)
    {
        await ExecuteAsync(connection, $"drop schema if exists {schema} cascade; create schema {schema}", stop);

        var options = new StoreOptions();
        shape.Configure(options, schema, services);
        using var store = new DocumentStore(options);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var source = options.Projections.All.FirstOrDefault(p => p.Name == projection && p.Lifecycle == ProjectionLifecycle.Async)
            ?? throw new InvalidOperationException($"{projection} is not an async projection of the analysis store");

        var copied = await CopyLogAsync(connection, schema, asOf, stop);
        await ExecuteAsync(connection, $"comment on schema {schema} is '{Marker}: {projection} as of sequence {asOf}'", stop);
        await progress.ReportAsync(0, asOf, stop);

        var daemon = await store.BuildProjectionDaemonAsync(logger: logs.CreateLogger("Aetherra.AnalysisRebuild"));
        try
        {
            var rebuild = daemon.RebuildProjectionAsync(source.Name, TimeSpan.FromHours(6), stop);
            while (!rebuild.IsCompleted)
            {
                await Task.WhenAny(rebuild, Task.Delay(TimeSpan.FromMilliseconds(500), stop));
                await progress.ReportAsync(await PositionAsync(connection, schema, source.Name, stop), asOf, stop);
            }
            await rebuild;
        }
        finally
        {
            await daemon.StopAllAsync();
        }
        if (bulkRebuilds.FirstOrDefault(b => b.Name == source.Name) is { } bulk)
            await bulk.EndAnalysisCopyAsync(connection, schema, stop);
        await progress.ReportAsync(asOf, asOf, stop);
        return new { projection = source.Name, targetSchema = schema, asOfSequence = asOf, events = copied };
    }

    /// <summary>The last sequence the rebuild may see: as asked, or the last event at or before the instant.</summary>
    private async Task<long> CeilingAsync(RebuildProjection request, long highWater, CancellationToken ct)
    {
        if (request.AsOfSequence is { } sequence)
            return sequence <= highWater
                ? sequence
                : throw new DomainRuleViolated($"asOfSequence {sequence} is past the store's high-water mark {highWater}");
        if (request.AsOfTime is not { } time) return highWater;
        await using var cmd = dataSource.CreateCommand(
            $"select coalesce(max(seq_id), 0) from {Live}.mt_events where seq_id <= $1 and timestamp <= $2");
        cmd.Parameters.Add(new() { Value = highWater });
        cmd.Parameters.Add(new() { Value = time });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Copies the events up to <paramref name="asOf"/> and their streams (at the version they had then), then
    /// sets the copy's sequence and high-water mark to it, so the daemon sees a complete log without gaps to
    /// wait out. Columns are those both tables have, by name.
    /// </summary>
    private static async Task<long> CopyLogAsync(NpgsqlConnection connection, string schema, long asOf, CancellationToken ct)
    {
        var streamColumns = await SharedColumnsAsync(connection, schema, "mt_streams", ct);
        var eventColumns = await SharedColumnsAsync(connection, schema, "mt_events", ct);
        string List(IEnumerable<string> columns, string alias) => string.Join(", ", columns.Select(c => $"{alias}.{c}"));
        var streamSelect = string.Join(", ", streamColumns.Select(c => c == "version" ? "v.version" : $"s.{c}"));

        await using var tx = await connection.BeginTransactionAsync(ct);
        await using (var streams = new NpgsqlCommand($"""
            insert into {schema}.mt_streams ({string.Join(", ", streamColumns)})
            select {streamSelect} from {Live}.mt_streams s
            join (select stream_id, tenant_id, max(version) as version from {Live}.mt_events where seq_id <= $1 group by stream_id, tenant_id) v
              on v.stream_id = s.id and v.tenant_id = s.tenant_id
            """, connection, tx))
        {
            streams.Parameters.Add(new() { Value = asOf });
            await streams.ExecuteNonQueryAsync(ct);
        }
        long copied;
        await using (var events = new NpgsqlCommand($"""
            insert into {schema}.mt_events ({string.Join(", ", eventColumns)})
            select {List(eventColumns, "e")} from {Live}.mt_events e where e.seq_id <= $1 order by e.seq_id
            """, connection, tx))
        {
            events.Parameters.Add(new() { Value = asOf });
            copied = await events.ExecuteNonQueryAsync(ct);
        }
        await using (var mark = new NpgsqlBatch(connection, tx)
        {
            BatchCommands =
            {
                new($"select setval('{schema}.mt_events_sequence', greatest($1, 1))") { Parameters = { new() { Value = asOf } } },
                new($"""
                    insert into {schema}.mt_event_progression (name, last_seq_id) values ('HighWaterMark', $1)
                    on conflict (name) do update set last_seq_id = excluded.last_seq_id
                    """) { Parameters = { new() { Value = asOf } } },
            },
        })
            await mark.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return copied;
    }

    private static async Task<List<string>> SharedColumnsAsync(NpgsqlConnection connection, string schema, string table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            select a.column_name from information_schema.columns a
            join information_schema.columns b on b.table_schema = $2 and b.table_name = a.table_name and b.column_name = a.column_name
            where a.table_schema = $1 and a.table_name = $3 and a.is_generated = 'NEVER'
            order by a.ordinal_position
            """, connection);
        cmd.Parameters.Add(new() { Value = Live });
        cmd.Parameters.Add(new() { Value = schema });
        cmd.Parameters.Add(new() { Value = table });
        var columns = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) columns.Add(reader.GetString(0));
        return columns;
    }

    private async Task<string?> SchemaCommentAsync(string schema, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            "select coalesce(obj_description(oid, 'pg_namespace'), '') from pg_namespace where nspname = $1");
        cmd.Parameters.Add(new() { Value = schema });
        return await cmd.ExecuteScalarAsync(ct) as string;
    }

    private static async Task<long> PositionAsync(NpgsqlConnection connection, string schema, string projection, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"select coalesce(max(last_seq_id), 0) from {schema}.mt_event_progression where name = $1", connection);
        cmd.Parameters.Add(new() { Value = $"{projection}:All" });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Infrastructure.Jobs;

public sealed record JobView(
    Guid Id, string Kind, string Status, long Processed, long? Total, DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt, string? Error, JsonElement? Result);

/// <summary>Lets a running job say how far it got.</summary>
public sealed class JobProgress(Guid id, NpgsqlDataSource dataSource)
{
    public Guid Id => id;

    public async Task ReportAsync(long processed, long? total, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"update {AetherraSettings.Schema}.jobs set processed = $2, total = $3 where id = $1");
        cmd.Parameters.Add(new() { Value = id });
        cmd.Parameters.Add(new() { Value = processed });
        cmd.Parameters.Add(new() { Value = (object?)total ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>
/// Background jobs of this process (consolidation, rebuilds): recorded in aetherra.jobs so that any node can
/// answer their status, run on the thread pool, stopped with the host. A job that was running when its
/// process ended is marked failed at the next start: it did not finish, and says so.
/// </summary>
public sealed class JobRunner(NpgsqlDataSource dataSource, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<JobRunner> log)
{
    private const string Table = AetherraSettings.Schema + ".jobs";

    /// <summary>
    /// This node of the cluster (AETHERRA_NODE, as the cluster names it; else the machine's name): several nodes
    /// may share one machine, and each answers only for its own jobs.
    /// </summary>
    public static readonly string NodeName =
        Environment.GetEnvironmentVariable("AETHERRA_NODE") is { Length: > 0 } n ? n : Environment.MachineName;

    /// <summary>This process: a job whose process is gone can be told from one still running here.</summary>
    public static readonly string Node = $"{NodeName}/{Environment.ProcessId}";

    public async Task<Guid> StartAsync(
        string tenant, string kind, Func<JobProgress, CancellationToken, Task<object?>> work, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        await using (var cmd = dataSource.CreateCommand($"insert into {Table} (id, tenant_id, kind, node, status, started_at) values ($1, $2, $3, $5, 'running', $4)"))
        {
            cmd.Parameters.Add(new() { Value = id });
            cmd.Parameters.Add(new() { Value = tenant });
            cmd.Parameters.Add(new() { Value = kind });
            cmd.Parameters.Add(new() { Value = clock.GetUtcNow() });
            cmd.Parameters.Add(new() { Value = Node });
            await cmd.ExecuteNonQueryAsync(ct);
        }
        var stopping = lifetime.ApplicationStopping;
        _ = Task.Run(async () =>
        {
            string status = "succeeded", error = "";
            object? result = null;
            try
            {
                result = await work(new JobProgress(id, dataSource), stopping);
            }
            catch (Exception e)
            {
                status = "failed";
                error = stopping.IsCancellationRequested ? "stopped with the server" : e.Message;
                log.LogError(e, "Job {JobId} ({Kind}) failed", id, kind);
            }
            try
            {
                await using var done = dataSource.CreateCommand(
                    $"update {Table} set status = $2, finished_at = $3, error = nullif($4, ''), result = $5::jsonb where id = $1");
                done.Parameters.Add(new() { Value = id });
                done.Parameters.Add(new() { Value = status });
                done.Parameters.Add(new() { Value = clock.GetUtcNow() });
                done.Parameters.Add(new() { Value = error });
                done.Parameters.Add(new() { Value = result is null ? DBNull.Value : JsonSerializer.Serialize(result, JsonSerializerOptions.Web) });
                await done.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (Exception e)
            {
                log.LogError(e, "Could not record the end of job {JobId}", id);
            }
        }, CancellationToken.None);
        return id;
    }

    /// <summary>The job, if it belongs to the tenant (null tenant: any, for admins).</summary>
    public async Task<JobView?> FindAsync(Guid id, string? tenant, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            select id, kind, status, processed, total, started_at, finished_at, error, result::text
            from {Table} where id = $1 and ($2::text is null or tenant_id = $2)
            """);
        cmd.Parameters.Add(new() { Value = id });
        cmd.Parameters.Add(new() { Value = (object?)tenant ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new JobView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3),
            reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.GetFieldValue<DateTimeOffset>(5),
            reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetString(7),
            reader.IsDBNull(8) ? null : JsonDocument.Parse(reader.GetString(8)).RootElement.Clone());
    }

    /// <summary>
    /// At start: jobs this node (by its AETHERRA_NODE name, not the machine's) left running when its previous
    /// process ended are failed, not "running" forever. Jobs of other nodes, on this machine or another, are
    /// theirs to answer for.
    /// </summary>
    public static async Task FailInterruptedAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            update {Table} set status = 'failed', error = 'interrupted: the server stopped before the job finished', finished_at = now()
            where status = 'running' and left(node, length($1) + 1) = $1 || '/' and node <> $2
            """);
        // Compared as a prefix, not with LIKE: a node's name may hold '_' or '%'.
        cmd.Parameters.Add(new() { Value = NodeName });
        cmd.Parameters.Add(new() { Value = Node });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

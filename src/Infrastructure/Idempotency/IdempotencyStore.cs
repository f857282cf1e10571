using Aetherra.Infrastructure.Crypto;
using Npgsql;

namespace Aetherra.Infrastructure.Idempotency;

public abstract record IdempotencyClaim
{
    /// <summary>This request holds the key: execute it, then complete or abandon the claim.</summary>
    public sealed record Granted : IdempotencyClaim;
    public sealed record Replay(int Status, string? ContentType, byte[] Body) : IdempotencyClaim;
    public sealed record DifferentRequest : IdempotencyClaim;
    public sealed record InProgress : IdempotencyClaim;
}

/// <summary>
/// Idempotency keys per tenant. A key is claimed before the command runs (so two concurrent retries never
/// both execute), then completed with the response to replay, or released when the request failed for a
/// reason on our side (5xx) so a retry can run it. Kept answers are sealed under the master key: some carry
/// secrets (a newly issued API key), and a dump of this table must reveal none.
/// </summary>
public sealed class IdempotencyStore(NpgsqlDataSource dataSource, MasterKey master, TimeProvider clock)
{
    private const string Table = AetherraSettings.Schema + ".idempotency";

    public async Task<IdempotencyClaim> ClaimAsync(string tenant, string key, byte[] requestHash, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"insert into {Table} (tenant_id, key, request_hash, created_at) values ($1, $2, $3, $4) on conflict do nothing returning 1")
        {
            Parameters = { new() { Value = tenant }, new() { Value = key }, new() { Value = requestHash }, new() { Value = clock.GetUtcNow() } }
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"select request_hash, status, content_type, body from {Table} where tenant_id = $1 and key = $2")
        {
            Parameters = { new() { Value = tenant }, new() { Value = key } }
        });
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct)) return new IdempotencyClaim.Granted();
        await reader.NextResultAsync(ct);
        if (!await reader.ReadAsync(ct)) return new IdempotencyClaim.InProgress();
        if (!((byte[])reader[0]).AsSpan().SequenceEqual(requestHash)) return new IdempotencyClaim.DifferentRequest();
        if (reader.IsDBNull(1)) return new IdempotencyClaim.InProgress();
        return new IdempotencyClaim.Replay(reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2),
            master.Unwrap((byte[])reader[3], Binding(tenant, key)));
    }

    public async Task CompleteAsync(string tenant, string key, int status, string? contentType, byte[] body, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"update {Table} set status = $3, content_type = $4, body = $5 where tenant_id = $1 and key = $2");
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = key });
        cmd.Parameters.Add(new() { Value = status });
        cmd.Parameters.Add(new() { Value = (object?)contentType ?? DBNull.Value });
        cmd.Parameters.Add(new() { Value = master.Wrap(body, Binding(tenant, key)) });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task ReleaseAsync(string tenant, string key, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"delete from {Table} where tenant_id = $1 and key = $2 and status is null");
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = key });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static string Binding(string tenant, string key) => $"idempotency\u001f{tenant}\u001f{key}";
}

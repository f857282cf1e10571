using System.Collections.Concurrent;
using System.Text;
using Aetherra.Infrastructure.Crypto;
using NSec.Cryptography;
using Npgsql;

namespace Aetherra.Infrastructure.Keys;

public sealed record ApiKey(Guid Id, string Name, string Tenant, IReadOnlyList<string> Scopes, KeyRateLimit? RateLimit = null);

/// <summary>A token bucket: this many requests per second on average, at most <see cref="Burst"/> at once.</summary>
public sealed record KeyRateLimit(double PermitsPerSecond, int Burst);

/// <summary>
/// API keys: 256 random bits shown once, stored only as a keyed BLAKE2b-256 hash (the pepper is derived
/// from the master key), so a dump of the table yields nothing that authenticates. Found keys are cached
/// for a few seconds: a lookup is then a hash and a dictionary read. Revocation evicts on this node at
/// once; other nodes sharing the database stop honouring the key within <see cref="CacheFor"/>.
/// </summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource, MasterKey master, TimeProvider clock)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private const string Table = AetherraSettings.Schema + ".api_keys";
    private const string Prefix = "ak_";
    private readonly ConcurrentDictionary<string, (ApiKey Key, DateTimeOffset Until)> _cache = new();

    public async Task<(ApiKey Key, string Secret)> CreateAsync(
        string name, string tenant, IReadOnlyList<string> scopes, CancellationToken ct, KeyRateLimit? rateLimit = null)
    {
        var secret = Prefix + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var key = new ApiKey(Guid.CreateVersion7(), name, tenant, scopes, rateLimit);
        await using var cmd = dataSource.CreateCommand(
            $"insert into {Table} (id, hash, name, tenant_id, scopes, created_at, rate_permits, rate_burst) values ($1, $2, $3, $4, $5, $6, $7, $8)");
        cmd.Parameters.Add(new() { Value = key.Id });
        cmd.Parameters.Add(new() { Value = Hash(secret) });
        cmd.Parameters.Add(new() { Value = name });
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = scopes.ToArray() });
        cmd.Parameters.Add(new() { Value = clock.GetUtcNow() });
        cmd.Parameters.Add(new() { Value = (object?)rateLimit?.PermitsPerSecond ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Double });
        cmd.Parameters.Add(new() { Value = (object?)rateLimit?.Burst ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        await cmd.ExecuteNonQueryAsync(ct);
        return (key, secret);
    }

    public async Task<ApiKey?> FindAsync(string secret, CancellationToken ct)
    {
        if (!secret.StartsWith(Prefix, StringComparison.Ordinal) || secret.Length > 128) return null;
        var hash = Convert.ToBase64String(Hash(secret));
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(hash, out var hit) && hit.Until > now) return hit.Key;

        await using var cmd = dataSource.CreateCommand(
            $"select id, name, tenant_id, scopes, rate_permits, rate_burst from {Table} where hash = $1 and revoked_at is null");
        cmd.Parameters.Add(new() { Value = Convert.FromBase64String(hash) });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            _cache.TryRemove(hash, out _);
            return null;
        }
        var key = new ApiKey(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3),
            reader.IsDBNull(4) || reader.IsDBNull(5) ? null : new KeyRateLimit(reader.GetDouble(4), reader.GetInt32(5)));
        _cache[hash] = (key, now + CacheFor);
        return key;
    }

    /// <summary>
    /// Revokes a key; false when no live key has that id, or (for a tenant's administrator) the key is of
    /// another tenant (<paramref name="tenant"/>) or holds <c>operator</c> (<paramref name="sparingOperators"/>).
    /// </summary>
    public async Task<bool> RevokeAsync(Guid id, string? tenant, bool sparingOperators, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"update {Table} set revoked_at = $2 where id = $1 and revoked_at is null" +
            " and ($3::text is null or tenant_id = $3) and not ($4 and 'operator' = any(scopes))");
        cmd.Parameters.Add(new() { Value = id });
        cmd.Parameters.Add(new() { Value = clock.GetUtcNow() });
        cmd.Parameters.Add(new() { Value = (object?)tenant ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = sparingOperators });
        var revoked = await cmd.ExecuteNonQueryAsync(ct) > 0;
        foreach (var entry in _cache.Where(e => e.Value.Key.Id == id)) _cache.TryRemove(entry.Key, out _);
        return revoked;
    }

    /// <summary>
    /// The migration to two kinds of administrator (docs/security.md): the bootstrap key (the first key the
    /// server made, named <see cref="BootstrapName"/>) gains <c>operator</c>; every other <c>admin</c> key
    /// stays the administrator of its own tenant only. Idempotent; true when it changed the key.
    /// </summary>
    public async Task<bool> GrantBootstrapOperatorAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"""
            update {Table} set scopes = array_append(scopes, 'operator')
            where id = (select id from {Table} order by created_at, id limit 1)
              and name = '{BootstrapName}' and not 'operator' = any(scopes)
            """);
        var changed = await cmd.ExecuteNonQueryAsync(ct) > 0;
        if (changed) _cache.Clear();
        return changed;
    }

    public const string BootstrapName = "bootstrap-admin";

    /// <summary>A live key by its id (not its secret): what a script runs as, looked up afresh at every run.</summary>
    public async Task<ApiKey?> FindByIdAsync(Guid id, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"select id, name, tenant_id, scopes, rate_permits, rate_burst from {Table} where id = $1 and revoked_at is null");
        cmd.Parameters.Add(new() { Value = id });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new ApiKey(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3),
            reader.IsDBNull(4) || reader.IsDBNull(5) ? null : new KeyRateLimit(reader.GetDouble(4), reader.GetInt32(5)));
    }

    /// <summary>Whether the key exists and is not revoked.</summary>
    public async Task<bool> IsLiveAsync(Guid id, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"select exists (select 1 from {Table} where id = $1 and revoked_at is null)");
        cmd.Parameters.Add(new() { Value = id });
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public async Task<bool> AnyAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"select exists (select 1 from {Table})");
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    // Imported once: every request hashes its key (the cache is keyed by the hash).
    private readonly Key _pepper = Key.Import(MacAlgorithm.Blake2b_256, master.ApiKeyPepper, KeyBlobFormat.RawSymmetricKey);

    private byte[] Hash(string secret) => MacAlgorithm.Blake2b_256.Mac(_pepper, Encoding.UTF8.GetBytes(secret));
}

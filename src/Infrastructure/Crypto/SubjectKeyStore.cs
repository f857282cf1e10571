using System.Collections.Concurrent;
using Aetherra.Infrastructure.Database;
using Npgsql;

namespace Aetherra.Infrastructure.Crypto;

/// <summary>
/// The key table: one data key per (tenant, subject), wrapped by the master key. Destroying a row is
/// what makes a subject's content unreadable everywhere (crypto-shredding). All calls run on the
/// caller's connection and transaction so that a key use and a key destruction serialise. The table lives in the
/// database of the tenant's events (TenantDatabases), so a forget destroys the key beside what it protects.
/// </summary>
public sealed class SubjectKeyStore(MasterKey master, TenantDatabases databases)
{
    private const string Table = AetherraSettings.Schema + ".subject_keys";

    /// <summary>
    /// Live keys this process has used for writing, so that a write to a known subject neither reads nor
    /// unwraps nor imports its key again (that was most of a write's CPU). A cached key is never trusted on
    /// its own: each write that seals with one queues <see cref="ProofSql"/> into its own transaction.
    /// Bounded by dropping everything at the limit: a cleared entry costs one read, not correctness.
    /// </summary>
    private readonly ConcurrentDictionary<(string Tenant, string Subject), DataKey> _live = new();
    private const int LiveLimit = 50_000;

    /// <summary>
    /// Proves, inside the writing transaction, that the key (tenant, subject, key id) still exists, and takes
    /// FOR KEY SHARE on it so that a forget waits for this transaction. A destroyed key fails the statement
    /// with <see cref="KeyGoneSqlState"/> (division by a count of zero rows: no function to install, and not
    /// foldable at plan time since the count is the query's own), which rolls the whole write back.
    /// Parameters in Marten's positional form: tenant, subject, key id.
    /// </summary>
    public const string RowLockProofSql =
        $"select 1 / count(*)::int from (select 1 from {Table} where tenant_id = ? and subject = ? and key_id = ? for key share) live";

    /// <summary>
    /// The proof by default: the same check without the row lock, run after <see cref="ProofLockSql"/> in the same
    /// batch. FOR KEY SHARE writes the key row on every write (a lock record in the WAL, and a multixact when several
    /// writers hold it at once); the advisory lock lives in memory only. A forget takes the same lock exclusively
    /// before it deletes the row (<see cref="DestroyAsync"/>), so it waits for every writer holding it, and a writer
    /// arriving meanwhile waits for the forget to commit. The check is a statement of its own, after the lock: under
    /// READ COMMITTED each statement reads from a snapshot taken when it starts, so it sees a forget that committed
    /// while the lock was awaited. AETHERRA_KEY_PROOF=row brings back the row lock (measurement only).
    /// </summary>
    public const string ProofSql =
        $"select 1 / count(*)::int from {Table} where tenant_id = ? and subject = ? and key_id = ?";

    /// <summary>Shared advisory lock on (tenant, subject), in a lock space of its own (the two-int form). Parameters: tenant, subject.</summary>
    public static readonly string ProofLockSql = $"select pg_advisory_xact_lock_shared({KeyLockSpace}, hashtext(?::text || chr(31) || ?::text))";

    /// <summary>The first key of Aetherra's subject-key advisory locks ('Aeth'); two subjects sharing a hash only wait on each other.</summary>
    public const int KeyLockSpace = 0x41657468;

    public const string KeyGoneSqlState = "22012";

    /// <summary>
    /// The subject's live key, created if it has none. Takes FOR KEY SHARE on the row so that a concurrent
    /// forget (which deletes it) waits for this transaction, and this one never seals with a dead key.
    /// </summary>
    public async Task<DataKey> GetOrCreateAsync(NpgsqlConnection connection, string tenant, string subject, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        var material = DataKey.NewMaterial();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(
                    $"insert into {Table} (tenant_id, subject, key_id, wrapped_key) values ($1, $2, $3, $4) on conflict (tenant_id, subject) do nothing")
                {
                    Parameters = { new() { Value = tenant }, new() { Value = subject }, new() { Value = id }, new() { Value = master.Wrap(material, Context(tenant, subject, id)) } }
                },
                new NpgsqlBatchCommand($"select key_id, wrapped_key from {Table} where tenant_id = $1 and subject = $2 for key share")
                {
                    Parameters = { new() { Value = tenant }, new() { Value = subject } }
                }
            }
        };
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) throw new InvalidOperationException("the subject key vanished while it was being created");
        var keyId = reader.GetGuid(0);
        return keyId == id ? new DataKey(id, material) : new DataKey(keyId, master.Unwrap((byte[])reader[1], Context(tenant, subject, keyId)));
    }

    /// <summary>
    /// The subject's key for sealing a write: from the cache when this process knows it (the caller must then
    /// queue <see cref="ProofSql"/> into the same transaction: <c>Proven</c> is false), else read or created
    /// on the caller's connection under FOR KEY SHARE (<c>Proven</c> is true). Callers never dispose it.
    /// </summary>
    public async Task<(DataKey Key, bool Proven)> ForWriteAsync(
        Func<Task<NpgsqlConnection>> connection, string tenant, string subject, CancellationToken ct)
    {
        if (_live.TryGetValue((tenant, subject), out var cached)) return (cached, false);
        var key = await GetOrCreateAsync(await connection(), tenant, subject, ct);
        if (_live.Count >= LiveLimit) _live.Clear();
        _live[(tenant, subject)] = key;
        return (key, true);
    }

    /// <summary>Drops a key from the cache: a write found it destroyed, or this process destroys it.</summary>
    public void Evict(string tenant, string subject) => _live.TryRemove((tenant, subject), out _);

    /// <summary>Keys for reading, from the tenant's database: only those still alive, by key id. A destroyed key is simply absent.</summary>
    public async Task<IReadOnlyDictionary<Guid, DataKey>> FindAsync(
        string tenant, IReadOnlyCollection<Guid> keyIds, CancellationToken ct)
    {
        var found = new Dictionary<Guid, DataKey>();
        await foreach (var (keyId, subject, wrapped) in AliveAsync(tenant, keyIds, ct))
            found[keyId] = new DataKey(keyId, master.Unwrap(wrapped, Context(tenant, subject, keyId)));
        return found;
    }

    /// <summary>The wrapped keys still alive among <paramref name="keyIds"/>, read from the tenant's database.</summary>
    private async IAsyncEnumerable<(Guid KeyId, string Subject, byte[] Wrapped)> AliveAsync(
        string tenant, IReadOnlyCollection<Guid> keyIds, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (keyIds.Count == 0) yield break;
        await using var cmd = databases.For(tenant).CreateCommand(
            $"select key_id, subject, wrapped_key from {Table} where tenant_id = $1 and key_id = any($2)");
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = keyIds.Distinct().ToArray() });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            yield return (reader.GetGuid(0), reader.GetString(1), (byte[])reader[2]);
    }

    /// <summary>
    /// As <see cref="FindAsync"/> (only keys still alive, read from the tenant's database on every call), for a reader
    /// that opens content often: a found key this process already holds (<see cref="ForWriteAsync"/>'s cache, same
    /// tenant, subject and key id) is used as it is instead of being unwrapped and imported again. Keys it does not
    /// hold are unwrapped for this call only and disposed with the answer; nothing a reader finds joins the cache, so a
    /// key destroyed meanwhile is never kept by reading it. The async recall projection opens every memory of an import
    /// this way: unwrapping, importing and freeing each subject's key for every daemon batch was about 1 % of the
    /// server's managed CPU during an import (docs/benchmarks.md, "Import after issue 22").
    /// </summary>
    public async Task<SharedKeys> FindSharedAsync(string tenant, IReadOnlyCollection<Guid> keyIds, CancellationToken ct)
    {
        var found = new Dictionary<Guid, DataKey>();
        var owned = new List<DataKey>();
        await foreach (var (keyId, subject, wrapped) in AliveAsync(tenant, keyIds, ct))
        {
            if (_live.TryGetValue((tenant, subject), out var held) && held.Id == keyId)
            {
                found[keyId] = held;
                continue;
            }
            var key = new DataKey(keyId, master.Unwrap(wrapped, Context(tenant, subject, keyId)));
            owned.Add(key);
            found[keyId] = key;
        }
        return new SharedKeys(found, owned);
    }

    /// <summary>Destroys the subject's key inside the caller's transaction; true when there was one.</summary>
    public async Task<bool> DestroyAsync(NpgsqlConnection connection, string tenant, string subject, CancellationToken ct)
    {
        Evict(tenant, subject);
        // The advisory lock first (writers proving a cached key hold it shared; see ProofSql), then the delete, which
        // also waits for any FOR KEY SHARE of the row (writers reading the key under lock). Two statements, so the
        // delete's snapshot is taken after the lock is granted.
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"select pg_advisory_xact_lock({KeyLockSpace}, hashtext($1::text || chr(31) || $2::text))")
                {
                    Parameters = { new() { Value = tenant }, new() { Value = subject } }
                },
                new NpgsqlBatchCommand($"delete from {Table} where tenant_id = $1 and subject = $2")
                {
                    Parameters = { new() { Value = tenant }, new() { Value = subject } }
                }
            }
        };
        await batch.ExecuteNonQueryAsync(ct);
        return batch.BatchCommands[1].RecordsAffected > 0;
    }

    private static string Context(string tenant, string subject, Guid keyId) => $"{tenant}\u001f{subject}\u001f{keyId}";
}

/// <summary>Keys found alive for a reader: those in <see cref="Keys"/> it unwrapped for this call are disposed with it.</summary>
public sealed class SharedKeys(IReadOnlyDictionary<Guid, DataKey> keys, IReadOnlyList<DataKey> owned) : IDisposable
{
    public IReadOnlyDictionary<Guid, DataKey> Keys { get; } = keys;

    public void Dispose()
    {
        foreach (var key in owned) key.Dispose();
    }
}

using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Aetherra.Infrastructure.AuditLog;
using Npgsql;

namespace Aetherra.Benchmarks;

/// <summary>What the audit scenario measured.</summary>
public sealed record AuditFigures(
    long Events, double LoadSeconds, double BuildSeconds, int Checkpoints,
    double ReadSeconds, long LeafBytes, double HashSeconds,
    double VerifySeconds, VerifyReport Verify, CpuUse? VerifyCpu,
    Measurement Proofs, long TreeSize);

/// <summary>
/// The verifiable audit log at scale. N deterministic <c>audit.recorded.v1</c> events are inserted with SQL
/// straight into mt_events (one stream each, as the server writes them); the tree is then built by the
/// projection's own code (<see cref="AuditLogStore.AppendUpToAsync"/>, what the AuditLog projection runs in the
/// daemon's transaction), in steps of 10,000 events with a signed checkpoint after each (the server's
/// default checkpoint interval). Then, with no server running:
/// <list type="bullet">
/// <item>the raw SHA-256 rate: every leaf's bytes (built from the same rows) read into memory, then
/// SHA-256(0x00 || leaf) over all of them on one thread;</item>
/// <item>a full verification through <see cref="AuditLogVerifier"/> (the code behind <c>aetherra audit verify</c>
/// and <c>POST /audit/verify</c>), in this process.</item>
/// </list>
/// Then the server is started on the database and inclusion proofs are asked over HTTP
/// (<c>GET /audit/proof/inclusion</c>, one keep-alive connection, one request at a time) for random events at
/// the full tree size.
/// </summary>
public sealed class AuditScenario(string dll, string connectionString, string workDir, int events, int proofs, int seed, Func<int?> postmasterPid)
{
    private const string Tenant = "bench";
    private const int Step = 10_000;

    public async Task<AuditFigures> RunAsync(Action<string> progress, CancellationToken ct)
    {
        Directory.CreateDirectory(workDir);
        var masterKey = RandomNumberGenerator.GetBytes(32);
        var settings = new AuditLogSettings(RandomNumberGenerator.GetBytes(32), AuditLogSettings.DefaultOrigin, TimeSpan.FromSeconds(10), Step);
        var environment = new Dictionary<string, string>
        {
            ["AETHERRA_MASTER_KEY"] = Convert.ToBase64String(masterKey),
            ["AETHERRA_AUDIT_KEY"] = Convert.ToBase64String(settings.SigningSeed),
            ["AETHERRA_EMBEDDINGS"] = "off"
        };

        // 1. The server creates its schema and a key that may read the tenant's proofs (that request is audited too).
        string key;
        await using (var first = await ServerProcess.StartAsync(dll, connectionString, workDir, ct, environment))
            key = await CreateKeyAsync(first, ct);

        await using var db = NpgsqlDataSource.Create(connectionString);
        progress($"audit: inserting {events:N0} events with SQL");
        var clock = Stopwatch.StartNew();
        await InsertEventsAsync(db, ct);
        var loadSeconds = clock.Elapsed.TotalSeconds;

        progress("audit: building the tree with the projection's code, a signed checkpoint every 10,000 events");
        clock.Restart();
        var checkpoints = await BuildTreeAsync(db, settings, ct);
        var buildSeconds = clock.Elapsed.TotalSeconds;
        var store = new AuditLogStore(db);
        var (size, _) = await store.TipAsync(ct);

        progress("audit: raw SHA-256 over the same leaf bytes");
        var (readSeconds, leafBytes, hashSeconds) = await RawHashAsync(db, ct);
        progress($"  {size / hashSeconds:N0} leaves/s ({leafBytes / hashSeconds / 1e6:N0} MB/s); reading the rows alone {size / readSeconds:N0} rows/s");

        progress("audit: full verification");
        var probe = new CpuProbe(() => null, postmasterPid());
        var cpuFrom = probe.Sample();
        clock.Restart();
        var verify = await new AuditLogVerifier(db, store).VerifyAsync(settings.Origin, settings.PublicKey(), null, ct);
        var verifySeconds = clock.Elapsed.TotalSeconds;
        var verifyCpu = CpuUse.Between(cpuFrom, probe.Sample(), verify.VerifiedEvents);
        if (!verify.Ok) throw new InvalidOperationException($"verification failed: {verify.Problem}");
        progress($"  {verify.VerifiedEvents / verifySeconds:N0} events/s");

        // 2. The daemon must not walk a million events again: every projection is told it has seen them (the
        //    tree is built; recall ignores audit events). Then proofs through the server.
        await using (var cmd = db.CreateCommand($"""
            insert into {Infrastructure.AetherraSettings.Schema}.mt_event_progression (name, last_seq_id, last_updated)
            select name, (select max(seq_id) from {Infrastructure.AetherraSettings.Schema}.mt_events), now()
              from unnest(array['HighWaterMark', 'AuditLog:All', 'RecallEntry:All']) name
            on conflict (name) do update set last_seq_id = excluded.last_seq_id
            """))
            await cmd.ExecuteNonQueryAsync(ct);
        progress($"audit: {proofs:N0} inclusion proofs over HTTP at tree size {size:N0}");
        await using var server = await ServerProcess.StartAsync(dll, connectionString, workDir, ct, environment);
        var measured = await ProofsAsync(server, key, db, size, probe, ct);
        progress($"  p50 {measured.P50:F2} ms p95 {measured.Percentile(0.95):F2} ms p99 {measured.P99:F2} ms");
        return new AuditFigures(events, loadSeconds, buildSeconds, checkpoints, readSeconds, leafBytes, hashSeconds,
            verifySeconds, verify, verifyCpu, measured, size);
    }

    private static Task<string> CreateKeyAsync(ServerProcess server, CancellationToken ct) =>
        server.NewKeyAsync("bench-audit", Tenant, ["audit:read"], ct);

    /// <summary>
    /// Rows as the server writes an audit record (its own stream, stream type and .NET type taken from the key
    /// creation's record), deterministic apart from their sequence numbers: ids and targets from md5 of the
    /// index, one event per millisecond from a fixed instant, a few actors and actions.
    /// </summary>
    private async Task InsertEventsAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        const string s = Infrastructure.AetherraSettings.Schema;
        var sql = $"""
            insert into {s}.mt_streams (tenant_id, id, type, version, timestamp, created, is_archived)
            select $1, md5('bench-audit-stream-' || i)::uuid, t.type,
                   1, $2::timestamptz + i * interval '1 millisecond', $2::timestamptz + i * interval '1 millisecond', false
              from generate_series(1, $3) i,
                   (select s.type from {s}.mt_streams s join {s}.mt_events e on e.stream_id = s.id and e.tenant_id = s.tenant_id
                     where e.type = 'audit.recorded.v1' limit 1) t;
            insert into {s}.mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type, correlation_id, user_name, is_archived)
            select nextval('{s}.mt_events_sequence'), md5('bench-audit-event-' || i)::uuid, md5('bench-audit-stream-' || i)::uuid, 1,
                   jsonb_build_object(
                     'at', to_char(($2::timestamptz + i * interval '1 millisecond') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                     'actor', md5('bench-actor-' || i % 8)::uuid, 'action', (array['memory.record', 'memory.revise', 'memory.forget', 'key.create'])[1 + i % 4],
                     'reason', case when i % 10 = 0 then 'validation failed: content is required' end,
                     'status', case when i % 10 = 0 then 400 else 201 end, 'target', md5('bench-target-' || i)::uuid,
                     'tenant', $1, 'outcome', case when i % 10 = 0 then 'Rejected' else 'Accepted' end,
                     'requestId', md5('bench-audit-stream-' || i)::uuid),
                   'audit.recorded.v1', $2::timestamptz + i * interval '1 millisecond', $1, t.mt_dotnet_type,
                   md5('bench-audit-stream-' || i)::uuid::text, md5('bench-actor-' || i % 8)::uuid::text, false
              from generate_series(1, $3) i, (select mt_dotnet_type from {s}.mt_events where type = 'audit.recorded.v1' limit 1) t
             order by i;
            analyze {s}.mt_events;
            analyze {s}.mt_streams
            """;
        // One statement per command: parameters and several statements do not mix in one prepared command.
        foreach (var statement in sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await using var cmd = db.CreateCommand(statement);
            if (statement.Contains("$1", StringComparison.Ordinal))
            {
                cmd.Parameters.Add(new() { Value = Tenant });
                cmd.Parameters.Add(new() { Value = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) });
                cmd.Parameters.Add(new() { Value = events });
            }
            cmd.CommandTimeout = 0;
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    private static async Task<int> BuildTreeAsync(NpgsqlDataSource db, AuditLogSettings settings, CancellationToken ct)
    {
        long max;
        await using (var cmd = db.CreateCommand($"select max(seq_id) from {Infrastructure.AetherraSettings.Schema}.mt_events"))
            max = (long)(await cmd.ExecuteScalarAsync(ct))!;
        var store = new AuditLogStore(db);
        using var signer = new AuditSigner(settings);
        var checkpoints = 0;
        var (_, last) = await store.TipAsync(ct);
        for (var ceiling = last + Step; last < max; ceiling += Step)
        {
            await using (var connection = await db.OpenConnectionAsync(ct))
            await using (var tx = await connection.BeginTransactionAsync(ct))
            {
                await AuditLogStore.AppendUpToAsync(connection, Math.Min(ceiling, max), ct);
                await tx.CommitAsync(ct);
            }
            var head = await store.HeadAsync(ct);
            await store.SaveCheckpointAsync(new StoredCheckpoint(head.Size, head.RootHash, signer.Sign(head.Size, head.RootHash), DateTimeOffset.UtcNow), ct);
            checkpoints++;
            last = head.LastSequence;
        }
        return checkpoints;
    }

    /// <summary>Reads every event as the verifier does and keeps its leaf bytes, then hashes them all: SHA-256 alone.</summary>
    private static async Task<(double ReadSeconds, long Bytes, double HashSeconds)> RawHashAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        var leaves = new List<byte[]>();
        var hasher = new AuditLeafHasher();
        var clock = Stopwatch.StartNew();
        await using (var connection = await db.OpenConnectionAsync(ct))
            await foreach (var e in StoredEvents.ReadAsync(connection, 0, long.MaxValue, ct))
                leaves.Add([0x00, .. hasher.Bytes(e)]);
        var readSeconds = clock.Elapsed.TotalSeconds;
        var bytes = leaves.Sum(l => (long)l.Length);
        Span<byte> hash = stackalloc byte[32];
        byte check = 0;
        clock.Restart();
        foreach (var leaf in leaves)
        {
            SHA256.HashData(leaf, hash);
            check ^= hash[0];
        }
        var hashSeconds = clock.Elapsed.TotalSeconds;
        GC.KeepAlive(check);
        return (readSeconds, bytes, hashSeconds);
    }

    private async Task<Measurement> ProofsAsync(ServerProcess server, string key, NpgsqlDataSource db, long size, CpuProbe probe, CancellationToken ct)
    {
        long[] sequences;
        await using (var cmd = db.CreateCommand($"select sequence from {AuditLogSchema.Leaves} l join {Infrastructure.AetherraSettings.Schema}.mt_events e on e.seq_id = l.sequence where e.tenant_id = $1 order by l.leaf_index"))
        {
            cmd.Parameters.Add(new() { Value = Tenant });
            var list = new List<long>();
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) list.Add(reader.GetInt64(0));
            sequences = [.. list];
        }
        var random = new Random(seed);
        var warm = Enumerable.Range(0, Math.Min(200, proofs)).Select(_ => sequences[random.Next(sequences.Length)]).ToArray();
        var timed = Enumerable.Range(0, proofs).Select(_ => sequences[random.Next(sequences.Length)]).ToArray();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = server.BaseAddress
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var serverProbe = new CpuProbe(() => server.Pid, postmasterPid());
        Operation Ask(long sequence) => async token =>
        {
            using var response = await http.GetAsync($"/audit/proof/inclusion?sequence={sequence}&treeSize={size}", token);
            var body = await response.Content.ReadAsByteArrayAsync(token);
            if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
            return true;
        };
        var warmup = await Load.ForCountAsync(1, warm.Length, i => Ask(warm[i]), 0, serverProbe, ct);
        return (await Load.ForCountAsync(1, timed.Length, i => Ask(timed[i]), 1, serverProbe, ct)).After(warmup);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Aetherra.Application.Memory;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure;
using Marten;
using Npgsql;
using NpgsqlTypes;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Benchmarks;

public sealed record Timing(TimeSpan Prime, TimeSpan Warmup, TimeSpan Duration, int BatchTotal, int BatchSize, int Seed);

/// <summary>The server under load, over real HTTP on loopback, with one tenant key holding memory:write.</summary>
public sealed class HttpScenarios(ServerProcess server, Timing timing, CpuProbe probe) : IDisposable
{
    private const string Tenant = "bench";
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 256,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None
    })
    {
        BaseAddress = server.BaseAddress,
        Timeout = TimeSpan.FromMinutes(5)
    };

    /// <param name="adminKey">the bootstrap key, when this server joined a database another node created (it has none of its own)</param>
    public async Task AuthenticateAsync(CancellationToken ct, string? adminKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/keys")
        {
            // A key of its own rate (the limiter still takes a token per request, and the tenant's default bucket of 4,000/s
            // stands): the key's default of 1,000/s would measure the limiter, not the write, once batched writes pass it.
            Content = JsonContent.Create(new
            {
                name = "bench", tenant = Tenant, scopes = new[] { "memory:write" },
                rateLimit = new { permitsPerSecond = 1_000_000, burst = 2_000_000 },
            })
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey ?? server.AdminKey);
        using var response = await _http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        var created = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.GetProperty("key").GetString());
    }

    public Task<Measurement> SingleWritesAsync(int clients, CancellationToken ct) =>
        SingleWritesAsync(clients, $"http-c{clients}", timing.Warmup, timing.Duration, ct);

    /// <summary>Single writes whose memories are named after <paramref name="stream"/>: rounds of their own write new memories.</summary>
    public Task<Measurement> SingleWritesAsync(int clients, string stream, CancellationToken ct) =>
        SingleWritesAsync(clients, stream, timing.Warmup, timing.Duration, ct);

    /// <summary>Untimed load first: the server's JIT tiers up and its pools fill before the first row, not during it.</summary>
    public Task<Measurement> PrimeAsync(CancellationToken ct) =>
        SingleWritesAsync(8, "http-prime", timing.Prime, TimeSpan.Zero, ct);

    private Task<Measurement> SingleWritesAsync(int clients, string stream, TimeSpan warmup, TimeSpan duration, CancellationToken ct) =>
        Load.ForDurationAsync(clients, warmup, duration, worker =>
        {
            var workload = new Workload(timing.Seed + worker, $"{stream}-w{worker}");
            return async token => await PostAsync("/memories", Workload.SingleBody(workload.Next()), HttpStatusCode.Created, token);
        }, 1, probe, ct);

    public async Task<Measurement> BatchImportAsync(int clients, CancellationToken ct)
    {
        var warmup = Batches($"http-batch-c{clients}-warm", clients);
        var warm = await Load.ForCountAsync(clients, warmup.Length, i => token => PostAsync("/memories/batch", warmup[i], HttpStatusCode.OK, token), 0, probe, ct);
        var bodies = Batches($"http-batch-c{clients}", timing.BatchTotal / timing.BatchSize);
        return (await Load.ForCountAsync(clients, bodies.Length,
            i => token => PostAsync("/memories/batch", bodies[i], HttpStatusCode.OK, token), timing.BatchSize, probe, ct)).After(warm);
    }

    // Generated before the clock starts: the driver shares the two cores with the server and PostgreSQL.
    private byte[][] Batches(string stream, int count)
    {
        var workload = new Workload(timing.Seed, stream);
        return Enumerable.Range(0, count)
            .Select(_ => Workload.BatchBody(Enumerable.Range(0, timing.BatchSize).Select(_ => workload.Next()).ToList()))
            .ToArray();
    }

    private async Task<bool> PostAsync(string path, byte[] body, HttpStatusCode expected, CancellationToken ct)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync(path, content, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode == expected) return true;
        throw new HttpRequestException($"{(int)response.StatusCode} from {path}: {answer[..Math.Min(answer.Length, 300)]}");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>
/// The floor under the server: the same MemoryRecorded events appended straight through Marten, configured
/// with the server's own Marten defaults and feature configuration (so the inline Memory projection writes
/// its snapshot document here too), one stream and one transaction per memory, no HTTP, no auth, no audit.
/// </summary>
public sealed class RawMartenScenarios(DocumentStore store, Timing timing, CpuProbe probe) : IAsyncDisposable
{
    private const string Tenant = "bench";

    public static async Task<RawMartenScenarios> CreateAsync(string connectionString, Timing timing, CpuProbe probe, CancellationToken ct)
    {
        var dataSource = new NpgsqlDataSourceBuilder(connectionString).Build();
        var store = DocumentStore.For(opts =>
        {
            MartenDefaults.Apply(opts, dataSource);
            Application.Audit.Configuration.Configure(opts);
            MemoryConfiguration.Configure(opts);
        });
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        return new RawMartenScenarios(store, timing, probe);
    }

    public Task<Measurement> SingleAppendsAsync(int sessions, CancellationToken ct) =>
        SingleAppendsAsync(sessions, $"raw-c{sessions}", timing.Warmup, timing.Duration, ct);

    public Task<Measurement> PrimeAsync(CancellationToken ct) =>
        SingleAppendsAsync(8, "raw-prime", timing.Prime, TimeSpan.Zero, ct);

    private Task<Measurement> SingleAppendsAsync(int sessions, string stream, TimeSpan warmup, TimeSpan duration, CancellationToken ct) =>
        Load.ForDurationAsync(sessions, warmup, duration, worker =>
        {
            var workload = new Workload(timing.Seed + worker, $"{stream}-w{worker}");
            var events = new EventFactory(Tenant);
            return async token =>
            {
                var id = Guid.CreateVersion7();
                var recorded = events.Recorded(id, workload.Next(), DateTimeOffset.UtcNow);
                await using var session = store.LightweightSession(Tenant);
                session.Events.StartStream<MemoryState>(id, recorded);
                await session.SaveChangesAsync(token);
                return true;
            };
        }, 1, probe, ct);

    /// <summary>The same batches as the HTTP import, one Marten transaction per batch.</summary>
    public async Task<Measurement> BatchAppendsAsync(int sessions, CancellationToken ct)
    {
        var warmup = Batches($"raw-batch-c{sessions}-warm", sessions);
        var warm = await Load.ForCountAsync(sessions, warmup.Length, i => token => AppendAsync(warmup[i], token), 0, probe, ct);
        var batches = Batches($"raw-batch-c{sessions}", timing.BatchTotal / timing.BatchSize);
        return (await Load.ForCountAsync(sessions, batches.Length, i => token => AppendAsync(batches[i], token), timing.BatchSize, probe, ct)).After(warm);
    }

    private async Task<bool> AppendAsync(MemoryRecorded[] batch, CancellationToken ct)
    {
        await using var session = store.LightweightSession(Tenant);
        foreach (var e in batch) session.Events.StartStream<MemoryState>(e.MemoryId, e);
        await session.SaveChangesAsync(ct);
        return true;
    }

    private MemoryRecorded[][] Batches(string stream, int count)
    {
        var workload = new Workload(timing.Seed, stream);
        var events = new EventFactory(Tenant);
        var now = DateTimeOffset.UtcNow;
        return Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, timing.BatchSize).Select(_ => events.Recorded(Guid.CreateVersion7(), workload.Next(), now)).ToArray())
            .ToArray();
    }

    public ValueTask DisposeAsync() => store.DisposeAsync();
}

/// <summary>
/// The ceiling for an import: Npgsql binary COPY of rows as wide as the server's events (uuid, tenant,
/// the MemoryRecorded JSON as jsonb) into a plain table with a primary key, one COPY (and so one commit)
/// per batch of the same size as the HTTP import's.
/// </summary>
public sealed class CopyScenarios(NpgsqlDataSource dataSource, Timing timing, CpuProbe probe) : IAsyncDisposable
{
    private const string Tenant = "bench";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) }
    };

    public static async Task<CopyScenarios> CreateAsync(string connectionString, Timing timing, CpuProbe probe, CancellationToken ct)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var cmd = dataSource.CreateCommand("create table memory_rows (id uuid primary key, tenant text not null, data jsonb not null)");
        await cmd.ExecuteNonQueryAsync(ct);
        return new CopyScenarios(dataSource, timing, probe);
    }

    public async Task<Measurement> CopyAsync(int connections, CancellationToken ct)
    {
        var warmup = Batches($"copy-c{connections}-warm", connections);
        var warm = await Load.ForCountAsync(connections, warmup.Length, i => token => CopyAsync(warmup[i], token), 0, probe, ct);
        var batches = Batches($"copy-c{connections}", timing.BatchTotal / timing.BatchSize);
        return (await Load.ForCountAsync(connections, batches.Length, i => token => CopyAsync(batches[i], token), timing.BatchSize, probe, ct)).After(warm);
    }

    private async Task<bool> CopyAsync((Guid Id, string Data)[] rows, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var import = await connection.BeginBinaryImportAsync(
            "copy memory_rows (id, tenant, data) from stdin (format binary)", ct);
        foreach (var (id, data) in rows)
        {
            await import.StartRowAsync(ct);
            await import.WriteAsync(id, NpgsqlDbType.Uuid, ct);
            await import.WriteAsync(Tenant, NpgsqlDbType.Text, ct);
            await import.WriteAsync(data, NpgsqlDbType.Jsonb, ct);
        }
        await import.CompleteAsync(ct);
        return true;
    }

    private (Guid, string)[][] Batches(string stream, int count)
    {
        var workload = new Workload(timing.Seed, stream);
        var events = new EventFactory(Tenant);
        var now = DateTimeOffset.UtcNow;
        return Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, timing.BatchSize).Select(_ =>
            {
                var id = Guid.CreateVersion7();
                return (id, JsonSerializer.Serialize(events.Recorded(id, workload.Next(), now), Json));
            }).ToArray())
            .ToArray();
    }

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}

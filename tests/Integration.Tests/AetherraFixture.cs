using System.Net.Http.Headers;
using System.Net.Http.Json;
using Alba;
using DotNet.Testcontainers.Builders;
using Npgsql;
using Testcontainers.PostgreSql;
using Aetherra.Application.Recall;
using Wolverine.Runtime;
using Wolverine.Runtime.Agents;

[assembly: AssemblyFixture(typeof(Aetherra.Integration.Tests.AetherraFixture))]

namespace Aetherra.Integration.Tests;

/// <summary>
/// One Aetherra host for the whole test assembly, on a real PostgreSQL: a Testcontainers PostgreSQL when a
/// Docker engine answers, else the cluster ops/test started (AETHERRA_TEST_DB). Every run gets its own fresh
/// database; every test gets its own tenant(s), which is how tests stay apart without resetting data.
/// </summary>
public sealed class AetherraFixture : IAsyncLifetime
{
    private PostgreSqlContainer? _container;
    private string _adminConnection = "";
    private string _database = "";
    private readonly List<string> _extraDatabases = [];

    public IAlbaHost Host { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";
    /// <summary>An operator key (and admin of the bootstrap tenant), as the bootstrap key: issues the per-test keys through POST /admin/keys.</summary>
    public string AdminKey { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        _adminConnection = await ServerConnectionAsync();
        _database = "aetherra_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(_adminConnection))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {_database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        ConnectionString = new NpgsqlConnectionStringBuilder(_adminConnection) { Database = _database, MaxPoolSize = 60 }.ConnectionString;

        // The host reads its settings from configuration while it is built, so they go in as environment.
        Environment.SetEnvironmentVariable("AETHERRA_DB", ConnectionString);
        Environment.SetEnvironmentVariable("AETHERRA_MASTER_KEY", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        Environment.SetEnvironmentVariable("AETHERRA_ADMIN_KEY_FILE", null);
        Environment.SetEnvironmentVariable("AETHERRA_EXPORT_DIR", Directory.CreateTempSubdirectory("aetherra-exports-").FullName);
        // Homeostasis samples only when a test asks (VitalsSampler.SampleOnceAsync), and judges by setpoints
        // alone: a baseline built from whatever the parallel tests happen to do would make its answers vary.
        Environment.SetEnvironmentVariable("AETHERRA_VITALS_SECONDS", "0");
        Environment.SetEnvironmentVariable("AETHERRA_HOMEOSTASIS_WARMUP", "1000000");
        // Plugins: the test plugin servers listen on 127.0.0.1 only; bounds small enough to test quickly.
        Environment.SetEnvironmentVariable("AETHERRA_PLUGIN_HOSTS", "127.0.0.1");
        Environment.SetEnvironmentVariable("AETHERRA_PLUGIN_TIMEOUT_MS", "2000");
        Environment.SetEnvironmentVariable("AETHERRA_PLUGIN_MAX_RESPONSE_BYTES", "65536");
        // The category where the decision tests prove that a policy can let high risk through.
        Environment.SetEnvironmentVariable("AETHERRA_AUTONOMY_HIGH_RISK_CATEGORIES", "sandbox");
        Host = await AlbaHost.For<Program>();
        await StartAgentAsync(RecallProjection.Name);
        await StartAgentAsync(Aetherra.Application.Plugins.PluginAnalyticsProjection.ProjectionName);
        await StartAgentAsync(Aetherra.Application.Learning.LearningLoopProjection.ProjectionName);

        var keys = Host.Services.GetRequiredService<Aetherra.Infrastructure.Keys.ApiKeyStore>();
        AdminKey = (await keys.CreateAsync("test-admin", "default", ["admin", "operator"], CancellationToken.None)).Secret;
    }

    /// <summary>
    /// An async projection (RecallEntry, PluginAnalytics, LearningLoop) runs once Wolverine's leader has assigned its agent, which on a fresh host can take longer
    /// than a recall's minSequence wait (5 s). This node is the whole cluster, so the agent is started on it
    /// now, through Wolverine's agent runtime (idempotent, recorded as this node's assignment: the leader
    /// then finds it running here). Wolverine's PauseThenCatchUpOnMartenDaemonActivityAsync does not fit:
    /// it throws on a store without events.
    /// </summary>
    private async Task StartAgentAsync(string projection)
    {
        var family = Host.Services.GetServices<IAgentFamily>().OfType<IEventSubscriptionAgentFamily>().Single();
        var uri = await family.FindAgentUriAsync($"{projection}:All", null)
                  ?? throw new InvalidOperationException($"no agent for the {projection} projection");
        await Host.Services.GetRequiredService<IWolverineRuntime>().Agents.StartLocallyAsync(uri);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using (var admin = new NpgsqlConnection(_adminConnection))
        {
            await admin.OpenAsync();
            foreach (var database in _extraDatabases.Append(_database))
            {
                await using var drop = new NpgsqlCommand($"drop database if exists {database} with (force)", admin);
                await drop.ExecuteNonQueryAsync();
            }
        }
        if (_container is not null) await _container.DisposeAsync();
    }

    /// <summary>An HTTP client through the real pipeline, authenticated with the given key (or none).</summary>
    public HttpClient Client(string? key = null)
    {
        var client = Host.Server.CreateClient();
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>A fresh tenant and a key of it with the given scopes (all but admin when none are given).</summary>
    public async Task<TenantKey> NewTenantAsync(params string[] scopes)
    {
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..16];
        return await NewKeyAsync(tenant, scopes);
    }

    public async Task<TenantKey> NewKeyAsync(string tenant, params string[] scopes)
    {
        if (scopes.Length == 0) scopes = ["memory:read", "memory:write", "audit:read"];
        var response = await Client(AdminKey).PostAsJsonAsync("/admin/keys", new { name = "test", tenant, scopes });
        response.EnsureSuccessStatusCode();
        var created = (await response.Content.ReadFromJsonAsync<CreatedKey>())!;
        return new TenantKey(tenant, created.Id, created.Key);
    }

    /// <summary>
    /// A fresh, empty database on the tests' PostgreSQL (dropped when the run ends), for a server of its own:
    /// see <see cref="StartLoopbackServerAsync"/>.
    /// </summary>
    public async Task<string> NewDatabaseAsync()
    {
        var name = _database + "_" + Guid.NewGuid().ToString("N")[..8];
        await using (var admin = new NpgsqlConnection(_adminConnection))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {name}", admin);
            await create.ExecuteNonQueryAsync();
        }
        lock (_extraDatabases) _extraDatabases.Add(name);
        return new NpgsqlConnectionStringBuilder(_adminConnection) { Database = name }.ConnectionString;
    }

    /// <summary>
    /// The real server (the built aetherra.dll beside the tests) as a child process on a free loopback port,
    /// on a fresh database of its own: for clients that need a socket (browsers, MCP clients, fuzzers, other
    /// languages). Its bootstrap key is <see cref="ServerProcess.AdminKey"/>; dispose it when done.
    /// </summary>
    public async Task<ServerProcess> StartLoopbackServerAsync(IReadOnlyDictionary<string, string>? environment = null,
        CancellationToken ct = default)
    {
        var workDir = Directory.CreateTempSubdirectory("aetherra-server-").FullName;
        return await ServerProcess.StartAsync(ApiDll(), await NewDatabaseAsync(), workDir, ct, environment);
    }

    /// <summary>
    /// src/Api's own build output of the same configuration (ops/test builds it): not the copy beside the
    /// tests, where the framework's command discovery would scan the test assemblies too and fail.
    /// </summary>
    public static string ApiDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // bin/<config>/<tfm>
        var (tfm, configuration) = (here.Name, here.Parent!.Name);
        var dll = Path.Combine(RepoRoot(), "src", "Api", "bin", configuration, tfm, "aetherra.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: build the solution first (ops/test does)");
    }

    /// <summary>The repository's root (where Aetherra.sln is), for the ops/ scripts the tests run.</summary>
    internal static string RepoRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Aetherra.sln"))) root = root.Parent;
        return root?.FullName ?? throw new InvalidOperationException("Aetherra.sln not found above the tests");
    }

    /// <summary>Drops a database made by <see cref="NewDatabaseAsync"/>, closing its connections (a wipe).</summary>
    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(_adminConnection);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"drop database if exists {name} with (force)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    public NpgsqlConnection OpenDatabase()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    private async Task<string> ServerConnectionAsync()
    {
        try
        {
            _container = new PostgreSqlBuilder("postgres:15").Build();
            await _container.StartAsync();
            return _container.GetConnectionString();
        }
        catch (Exception e) when (e is DockerUnavailableException or InvalidOperationException or ArgumentException)
        {
            _container = null;
        }
        return Environment.GetEnvironmentVariable("AETHERRA_TEST_DB")
               ?? throw new InvalidOperationException(
                   "No PostgreSQL for the tests: no Docker engine answered and AETHERRA_TEST_DB is not set. Run the tests with ops/test.");
    }

    private sealed record CreatedKey(Guid Id, string Key);
}

public sealed record TenantKey(string Tenant, Guid KeyId, string Key);

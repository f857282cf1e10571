using System.Net.Http.Headers;
using Aetherra.Infrastructure.Database;
using Aetherra.Integration.Tests.Decisions;
using Aetherra.Integration.Tests.Tasks;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Aetherra.Integration.Tests;

/// <summary>
/// Tenants over several databases (docs/scaling.md): one server process, its home database and a tenant group's
/// database on the same cluster. Each tenant's events, read models, subject keys and Merkle log are in its own
/// database; each tenant writes, reads, recalls and follows the live feed as with one database, and sees nothing of
/// the other; the audit log verifies per database under its own origin.
/// </summary>
public sealed class TenantDatabasesTests(AetherraFixture fx)
{
    private const string Far = "tenancy-far", Near = "tenancy-near";
    private static readonly string[] Scopes = ["admin", "memory:read", "memory:write", "audit:read", "events:read", "tasks:read", "tasks:write"];

    [Fact]
    public async Task one_node_serves_tenants_on_two_databases_each_in_its_own_and_apart()
    {
        var ct = TestContext.Current.CancellationToken;
        var home = await fx.NewDatabaseAsync();
        var group = await fx.NewDatabaseAsync();
        var workDir = Directory.CreateTempSubdirectory("aetherra-tenancy-").FullName;
        await using var server = await ServerProcess.StartAsync(AetherraFixture.ApiDll(), home, workDir, ct, new Dictionary<string, string>
        {
            // The group "far" holds one tenant; "tenancy-near" is in no group, so it lives in the home database.
            ["AETHERRA_TENANT_DATABASES"] = $"far={Far},tenancy-other",
            ["AETHERRA_TENANT_DB_FAR"] = group,
            ["AETHERRA_EMBEDDINGS"] = "off",
            ["AETHERRA_AUDIT_CHECKPOINT_SECONDS"] = "1",
        });
        using var far = Client(server, await server.NewKeyAsync("far", Far, Scopes, ct));
        using var near = Client(server, await server.NewKeyAsync("near", Near, Scopes, ct));

        var farIds = new List<Guid>();
        var nearIds = new List<Guid>();
        long farSeq = 0, nearSeq = 0;
        foreach (var (i, word) in new[] { (0, "narwhal"), (1, "walrus") })
        {
            var (id, seq) = await RecordAsync(far, $"the far tenant saw a {word} at dawn");
            farIds.Add(id);
            farSeq = Math.Max(farSeq, seq);
            (id, seq) = await RecordAsync(near, $"the near tenant planted a {(i == 0 ? "tulip" : "crocus")} in spring");
            nearIds.Add(id);
            nearSeq = Math.Max(nearSeq, seq);
        }

        // Read back, recall included (after the tenant's own database's projection caught up).
        var read = await far.GetAsync($"/memories/{farIds[0]}?minSequence={farSeq}", ct);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("the far tenant saw a narwhal at dawn", (await read.Json()).GetProperty("content").GetString());
        read = await near.GetAsync($"/memories/{nearIds[1]}?minSequence={nearSeq}", ct);
        Assert.Equal("the near tenant planted a crocus in spring", (await read.Json()).GetProperty("content").GetString());
        var recalled = (await far.RecallAsync(new { query = "walrus", minSequence = farSeq })).Select(r => r.GetProperty("id").GetGuid()).ToList();
        Assert.Equal(farIds[1], recalled.First());
        Assert.All(recalled, id => Assert.Contains(id, farIds));
        recalled = (await near.RecallAsync(new { query = "tulip", minSequence = nearSeq })).Select(r => r.GetProperty("id").GetGuid()).ToList();
        Assert.Equal(nearIds[0], recalled.First());
        Assert.All(recalled, id => Assert.Contains(id, nearIds));

        // Apart: the other tenant's memory is 404 and out of recall, both ways.
        Assert.Equal(HttpStatusCode.NotFound, (await near.GetAsync($"/memories/{farIds[0]}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await far.GetAsync($"/memories/{nearIds[0]}", ct)).StatusCode);
        Assert.Empty(await near.RecallAsync(new { query = "narwhal walrus", minSequence = nearSeq }));
        Assert.Empty(await far.RecallAsync(new { query = "tulip crocus", minSequence = farSeq }));

        // A task claim (which takes its connection from a pool of its own, ClaimConnections) reaches the tenant's own
        // database: the far tenant claims its task there, the near one finds none in the home database.
        var farTask = (await far.PostAsync("/tasks", new { title = "far away", priority = 5 }, HttpStatusCode.Created)).Id();
        Assert.Null(await near.ClaimAsync("worker"));
        Assert.Equal(farTask, (await far.ClaimAsync("worker"))!.Value.Id());
        Assert.Equal(1, await CountAsync(group, "select count(*) from aetherra.mt_events where type = 'task.claimed.v1'"));
        Assert.Equal(0, await CountAsync(home, "select count(*) from aetherra.mt_events where type = 'task.claimed.v1'"));

        // Physically apart: each tenant's rows are in its own database only.
        Assert.Equal([Far], await TenantsAsync(group, "mt_events"));
        Assert.DoesNotContain(Far, await TenantsAsync(home, "mt_events"));
        Assert.Contains(Near, await TenantsAsync(home, "mt_events"));
        Assert.Equal([Far], await TenantsAsync(group, "subject_keys"));
        Assert.DoesNotContain(Far, await TenantsAsync(home, "subject_keys"));
        Assert.Equal([Far], await TenantsAsync(group, "mt_doc_memory"));
        Assert.True(await CountAsync(group, "select count(*) from aetherra.audit_leaves") > 0, "the group's Merkle log has leaves");
        // API keys and Wolverine's nodes are the installation's: in the home database only.
        Assert.Equal(0, await CountAsync(group, "select count(*) from pg_tables where schemaname = 'aetherra' and tablename in ('api_keys', 'wolverine_nodes')"));
        Assert.Equal(2, await CountAsync(home, "select count(*) from pg_tables where schemaname = 'aetherra' and tablename in ('api_keys', 'wolverine_nodes')"));

        // The audit log verifies per database, each tree under its own origin.
        var farReport = await (await far.PostAsync("/audit/verify", null, ct)).Json();
        var nearReport = await (await near.PostAsync("/audit/verify", null, ct)).Json();
        Assert.True(farReport.GetProperty("ok").GetBoolean(), farReport.ToString());
        Assert.True(nearReport.GetProperty("ok").GetBoolean(), nearReport.ToString());
        Assert.Equal("far", farReport.GetProperty("database").GetString());
        Assert.Equal("home", nearReport.GetProperty("database").GetString());
        Assert.Equal(nearReport.GetProperty("origin").GetString() + "/far", farReport.GetProperty("origin").GetString());
        Assert.True(farReport.GetProperty("verifiedEvents").GetInt64() > 0);
        var checkpoint = await far.GetStringAsync("/audit/checkpoint", ct);
        Assert.StartsWith(farReport.GetProperty("origin").GetString() + "\n", checkpoint);

        // The feed, paged and live, serves each tenant its own events (sequences of its own database).
        foreach (var (client, mine, theirs, seq) in new[] { (far, farIds, nearIds, farSeq), (near, nearIds, farIds, nearSeq) })
        {
            var page = await client.EventsAsync($"/events?types=memory.recorded.v1&minSequence={seq}");
            var streams = page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("streamId").GetGuid()).ToList();
            Assert.Equal(mine.Order(), streams.Order());

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            using var request = new HttpRequestMessage(HttpMethod.Get, "/events/stream?types=memory.recorded.v1&after=0");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            var live = new List<Guid>();
            while (live.Count < mine.Count && await reader.ReadLineAsync(timeout.Token) is { } line)
                if (line.StartsWith("data: "))
                    live.Add(JsonDocument.Parse(line[6..]).RootElement.GetProperty("streamId").GetGuid());
            Assert.Equal(mine.Order(), live.Order());
            Assert.DoesNotContain(live, theirs.Contains);
        }
    }

    [Fact]
    public async Task a_tenants_claim_pool_is_its_databases_with_no_reset_and_the_databases_own_pool_keeps_the_reset()
    {
        var pools = new Dictionary<NpgsqlDataSource, NpgsqlDataSource>(ReferenceEqualityComparer.Instance);
        NpgsqlDataSource Build(string connection)
        {
            var source = NpgsqlDataSource.Create(connection);
            pools[source] = ClaimConnections.Configure(new NpgsqlDataSourceBuilder(connection)).Build();
            return source;
        }
        await using var home = Build("Host=127.0.0.1;Database=home;Max Auto Prepare=64");
        await using var databases = TenantDatabases.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AETHERRA_TENANT_DATABASES"] = "eu=acme",
            ["AETHERRA_TENANT_DB_EU"] = "Host=127.0.0.1;Database=eu",
        }).Build(), home, Build);
        await using var claims = new ClaimConnections(databases, pools);

        NpgsqlConnectionStringBuilder Settings(NpgsqlDataSource source) => new(source.ConnectionString);
        Assert.Equal("eu", Settings(claims.For("acme")).Database);
        Assert.Equal("home", Settings(claims.For("someone-else")).Database);
        Assert.Same(claims.For("acme"), claims.For("acme"));
        Assert.NotSame(databases.For("acme"), claims.For("acme"));
        Assert.All(new[] { "acme", "someone-else" }, t => Assert.True(Settings(claims.For(t)).NoResetOnClose));
        // The rest of the installation's connections are still reset before their next use, and keep their settings.
        Assert.All(new[] { "acme", "someone-else" }, t => Assert.False(Settings(databases.For(t)).NoResetOnClose));
        Assert.Equal(64, Settings(claims.For("someone-else")).MaxAutoPrepare);
    }

    [Fact]
    public async Task placement_is_read_from_configuration_and_a_mistake_stops_the_start()
    {
        await using var home = NpgsqlDataSource.Create("Host=127.0.0.1;Database=home");
        TenantDatabases Read(Dictionary<string, string?> values) =>
            TenantDatabases.From(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), home, NpgsqlDataSource.Create);

        await using var single = Read([]);
        Assert.False(single.Placed);
        Assert.Same(home, single.For("anyone"));

        await using var placed = Read(new()
        {
            ["AETHERRA_TENANT_DATABASES"] = "eu=acme, globex; big=initech",
            ["AETHERRA_TENANT_DB_EU"] = "Host=127.0.0.1;Database=eu",
            ["AETHERRA_TENANT_DB_BIG"] = "Host=127.0.0.1;Database=big",
        });
        Assert.Equal(["home", "eu", "big"], placed.All.Select(d => d.Name));
        Assert.Equal("eu", placed.Of("globex").Name);
        Assert.Equal("big", placed.Of("initech").Name);
        Assert.Equal("home", placed.Of("someone-else").Name);
        Assert.Same(home, placed.For("default"));

        foreach (var bad in new[] { "big=acme", "EU=acme", "home=acme", "eu=acme;eu=globex", "eu=acme,acme", "eu=", "eu=default", "acme" })
        {
            var e = Assert.Throws<InvalidOperationException>(() => Read(new()
            {
                ["AETHERRA_TENANT_DATABASES"] = bad,
                ["AETHERRA_TENANT_DB_EU"] = "Host=127.0.0.1;Database=eu",
                ["AETHERRA_TENANT_DB_HOME"] = "Host=127.0.0.1;Database=home",
            }));
            Assert.StartsWith("AETHERRA_TENANT_DATABASES: ", e.Message);
        }
    }

    private static HttpClient Client(ServerProcess server, string key)
    {
        var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(150) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task<(Guid Id, long Sequence)> RecordAsync(HttpClient client, string content)
    {
        var response = await client.PostAsJsonAsync("/memories", new { content, subject = "garden", agent = "a", kind = "observation" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Json();
        return (body.GetProperty("id").GetGuid(), body.GetProperty("sequence").GetInt64());
    }

    private static async Task<string[]> TenantsAsync(string connectionString, string table)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select distinct tenant_id from aetherra.{table} order by 1", connection);
        var tenants = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) tenants.Add(reader.GetString(0));
        return [.. tenants];
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }
}

using System.Net.Http.Headers;
using Alba;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Keys;
using Microsoft.AspNetCore.Hosting;
using Npgsql;

namespace Aetherra.Integration.Tests;

/// <summary>
/// A store outage for real: a second host whose database connection runs through a TCP forwarder that the
/// test cuts and restores, on a database of its own.
/// </summary>
public sealed class OutageTests(AetherraFixture fx) : IAsyncLifetime
{
    private readonly string _database = "aetherra_outage_" + Guid.NewGuid().ToString("N")[..12];
    private OutageForwarder _forwarder = null!;
    private IAlbaHost _host = null!;
    private string _connectionString = "";

    public async ValueTask InitializeAsync()
    {
        await using (var db = fx.OpenDatabase())
        await using (var create = new NpgsqlCommand($"create database {_database}", db))
        {
            await create.ExecuteNonQueryAsync();
        }
        var target = new NpgsqlConnectionStringBuilder(fx.ConnectionString);
        _forwarder = new OutageForwarder(target.Host!, target.Port);
        _forwarder.Start();
        _connectionString = new NpgsqlConnectionStringBuilder(fx.ConnectionString)
        {
            Host = "127.0.0.1", Port = _forwarder.Port, Database = _database, Timeout = 5, CommandTimeout = 10
        }.ConnectionString;
        // Settings given to this host only: the process environment belongs to the shared fixture's host.
        _host = await AlbaHost.For<Program>(b => b.UseSetting("AETHERRA_DB", _connectionString));
    }

    public async ValueTask DisposeAsync()
    {
        _forwarder.Start();
        await _host.DisposeAsync();
        _forwarder.Dispose();
        await using var db = fx.OpenDatabase();
        await using var drop = new NpgsqlCommand($"drop database if exists {_database} with (force)", db);
        await drop.ExecuteNonQueryAsync();
    }

    private HttpClient Client(string key)
    {
        var client = _host.Server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task AssertUnavailable(HttpResponseMessage response)
    {
        await response.AssertProblem(HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task a_store_outage_is_503_with_retry_after_and_the_host_recovers_on_its_own()
    {
        Assert.Equal(_connectionString, _host.Services.GetRequiredService<AetherraSettings>().ConnectionString);
        var admin = await _host.Services.GetRequiredService<ApiKeyStore>().CreateAsync("outage-admin", "default", ["admin", "operator"], CancellationToken.None);
        var issued = await Client(admin.Secret).PostAsJsonAsync("/admin/keys",
            new { name = "outage", tenant = "t-outage", scopes = new[] { "memory:read", "memory:write" } });
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var client = Client((await issued.Json()).GetProperty("key").GetString()!);
        var (id, _) = await client.RecordAsync(Api.Memory("Alice likes tea"));

        _forwarder.Stop();

        await AssertUnavailable(await client.PostAsJsonAsync("/memories", Api.Memory("Alice likes coffee")));
        await AssertUnavailable(await client.GetAsync($"/memories/{id}"));
        await AssertUnavailable(await client.PutAsJsonAsync($"/memories/{id}", new { content = "Alice likes cocoa", reason = "r" }));
        await AssertUnavailable(await client.GetAsync($"/memories/{id}/history"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _host.Server.CreateClient().GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Server.CreateClient().GetAsync("/health/live")).StatusCode);

        _forwarder.Start();

        // Connections cut while idle in the pool fail once each when next used: each such request is an
        // honest 503, and a client retrying gets through without the host restarting.
        var recorded = await UntilNotUnavailable(() => client.PostAsJsonAsync("/memories", Api.Memory("Alice likes coffee")));
        Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);
        var read = await UntilNotUnavailable(() => client.GetAsync($"/memories/{id}"));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("Alice likes tea", (await read.Json()).GetProperty("content").GetString());
    }

    private static async Task<HttpResponseMessage> UntilNotUnavailable(Func<Task<HttpResponseMessage>> send)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await send();
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 20) return response;
            await AssertUnavailable(response);
        }
    }
}

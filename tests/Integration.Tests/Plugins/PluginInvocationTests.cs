using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Aetherra.Integration.Tests.Plugins;

/// <summary>Calls to real HTTP plugins on loopback (the fixture allows 127.0.0.1, a 2 s timeout and 64 KiB answers).</summary>
public sealed class PluginInvocationTests(AetherraFixture fx)
{
    private async Task<JsonElement> InvocationEventAsync(Guid invocationId)
    {
        using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand("select json_build_object('type', type, 'data', data) from aetherra.mt_events where stream_id = @id", db);
        cmd.Parameters.AddWithValue("id", invocationId);
        return JsonDocument.Parse((string)(await cmd.ExecuteScalarAsync())!).RootElement.Clone();
    }

    private async Task<JsonElement> AssertFailedAsync(HttpResponseMessage response, HttpStatusCode status, string errorClass)
    {
        Assert.Equal(status, response.StatusCode);
        var problem = await response.Json();
        Assert.Equal(errorClass, problem.GetProperty("errorClass").GetString());
        var recorded = await InvocationEventAsync(problem.GetProperty("invocationId").GetGuid());
        Assert.Equal("plugin.invocation-failed.v1", recorded.GetProperty("type").GetString());
        Assert.Equal(errorClass, recorded.GetProperty("data").GetProperty("errorClass").GetString());
        return recorded.GetProperty("data");
    }

    [Fact]
    public async Task a_call_reaches_the_plugin_with_capability_and_input_and_answers_its_output()
    {
        await using var server = await PluginServer.EchoAsync();
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        var invoker = await fx.NewKeyAsync(admin.Tenant, "plugins:invoke");

        var response = await fx.Client(invoker.Key).InvokeAsync(id, "echo", new { city = "Lyon" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Json();
        var output = body.GetProperty("output");
        Assert.Equal("echo", output.GetProperty("capability").GetString());
        Assert.Equal("Lyon", output.GetProperty("input").GetProperty("city").GetString());
        Assert.Equal(body.GetProperty("invocationId").GetString(), output.GetProperty("invocationId").GetString());
        // A plain Content-Length body, which the simplest plugin servers need (no chunked encoding).
        Assert.True(output.GetProperty("contentLength").GetInt64() > 0);
        Assert.True(body.GetProperty("durationMs").GetDouble() > 0);
        var recorded = await InvocationEventAsync(body.GetProperty("invocationId").GetGuid());
        Assert.Equal("plugin.invocation-completed.v1", recorded.GetProperty("type").GetString());
        Assert.Equal(invoker.KeyId.ToString(), recorded.GetProperty("data").GetProperty("actor").GetString());
        Assert.Equal(1, server.Calls);
        var audit = Assert.Single(await fx.Client(admin.Key).AuditAsync("plugin.invoke"));
        Assert.Equal("accepted", audit.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task a_retried_invocation_with_the_same_idempotency_key_answers_the_first_result_without_calling_again()
    {
        await using var server = await PluginServer.EchoAsync();
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        var client = fx.Client(admin.Key);
        HttpRequestMessage Request()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/plugins/{id}/invoke")
            {
                Content = JsonContent.Create(new { capability = "echo", input = new { n = 1 } }),
            };
            request.Headers.Add("Idempotency-Key", "invoke-once");
            return request;
        }

        var first = await client.SendAsync(Request());
        var again = await client.SendAsync(Request());

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.True(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, server.Calls);
    }

    [Fact]
    public async Task a_call_does_not_append_to_the_plugin_s_stream()
    {
        await using var server = await PluginServer.EchoAsync();
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        var client = fx.Client(admin.Key);
        var version = await PluginVersionAsync(id);

        Assert.Equal(HttpStatusCode.OK, (await client.InvokeAsync(id)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.InvokeAsync(id)).StatusCode);

        Assert.Equal(version, await PluginVersionAsync(id));
    }

    private async Task<long> PluginVersionAsync(string id)
    {
        using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand(
            "select max(version) from aetherra.mt_events where stream_id = (select stream_id from aetherra.mt_events where type = 'plugin.registered.v1' and data->'manifest'->>'id' = @id)", db);
        cmd.Parameters.AddWithValue("id", id);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task a_plugin_slower_than_the_timeout_is_a_504_recorded_as_a_timeout()
    {
        await using var server = await PluginServer.StartAsync(async context =>
        {
            // Never answers on its own: it waits until Aetherra gives up and drops the connection.
            try { await Task.Delay(Timeout.Infinite, context.RequestAborted); }
            catch (OperationCanceledException) { }
        });
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        var clock = Stopwatch.StartNew();

        var response = await fx.Client(admin.Key).InvokeAsync(id);

        var recorded = await AssertFailedAsync(response, HttpStatusCode.GatewayTimeout, "timeout");
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(15));
        Assert.True(recorded.GetProperty("durationMs").GetDouble() >= 1900);
        Assert.Equal(1, server.Calls);
    }

    [Fact]
    public async Task repeated_500s_open_the_plugin_s_breaker_and_later_calls_fail_fast_without_reaching_it()
    {
        await using var server = await PluginServer.StartAsync(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        await using var healthy = await PluginServer.EchoAsync();
        var (otherAdmin, _, other) = await fx.EnabledPluginAsync(healthy.Endpoint);
        var client = fx.Client(admin.Key);

        for (var i = 0; i < 5; i++)
        {
            var data = await AssertFailedAsync(await client.InvokeAsync(id), HttpStatusCode.BadGateway, "http-status");
            Assert.Equal(500, data.GetProperty("status").GetInt32());
        }
        // Each 500 reached the plugin once: a POST that may have run is never re-sent.
        Assert.Equal(5, server.Calls);

        var clock = Stopwatch.StartNew();
        await AssertFailedAsync(await client.InvokeAsync(id), HttpStatusCode.BadGateway, "circuit-open");
        await AssertFailedAsync(await client.InvokeAsync(id), HttpStatusCode.BadGateway, "circuit-open");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"fail-fast calls took {clock.Elapsed}");
        Assert.Equal(5, server.Calls);
        // Another plugin, on its own breaker, is unaffected.
        Assert.Equal(HttpStatusCode.OK, (await fx.Client(otherAdmin.Key).InvokeAsync(other)).StatusCode);
    }

    [Fact]
    public async Task a_plugin_nobody_listens_for_is_a_502_unreachable_after_the_safe_retries()
    {
        // A port that was free a moment ago: connections to it are refused before any request is sent.
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var (admin, _, id) = await fx.EnabledPluginAsync($"http://127.0.0.1:{port}/run");

        var data = await AssertFailedAsync(await fx.Client(admin.Key).InvokeAsync(id), HttpStatusCode.BadGateway, "unreachable");

        Assert.Equal(JsonValueKind.Null, data.GetProperty("status").ValueKind);
    }

    [Fact]
    public async Task an_answer_larger_than_the_bound_is_a_502()
    {
        await using var server = await PluginServer.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"output\":\"" + new string('x', 100 * 1024) + "\"}");
        });
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);

        await AssertFailedAsync(await fx.Client(admin.Key).InvokeAsync(id), HttpStatusCode.BadGateway, "response-too-large");
    }

    [Fact]
    public async Task a_streamed_answer_without_length_past_the_bound_is_a_502()
    {
        await using var server = await PluginServer.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"output\":\"");
            for (var i = 0; i < 100; i++) await context.Response.WriteAsync(new string('y', 1024));
            await context.Response.WriteAsync("\"}");
        });
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);

        await AssertFailedAsync(await fx.Client(admin.Key).InvokeAsync(id), HttpStatusCode.BadGateway, "response-too-large");
    }

    [Fact]
    public async Task a_redirect_to_a_host_outside_the_allowlist_is_not_followed()
    {
        await using var elsewhere = await PluginServer.EchoAsync();
        await using var server = await PluginServer.StartAsync(context =>
        {
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = elsewhere.Endpoint.Replace("127.0.0.1", "localhost");
            return Task.CompletedTask;
        });
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);

        await AssertFailedAsync(await fx.Client(admin.Key).InvokeAsync(id), HttpStatusCode.BadGateway, "redirect-refused");
        Assert.Equal(0, elsewhere.Calls);
    }

    [Fact]
    public async Task an_answer_that_is_not_the_protocol_is_a_502()
    {
        await using var server = await PluginServer.StartAsync(context => context.Response.WriteAsync("not json"));
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);

        await AssertFailedAsync(await fx.Client(admin.Key).InvokeAsync(id), HttpStatusCode.BadGateway, "bad-response");
    }

    [Fact]
    public async Task a_plugin_that_is_not_enabled_is_a_409_and_is_not_called()
    {
        await using var server = await PluginServer.EchoAsync();
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);
        var client = fx.Client(admin.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.MoveAsync(id, "disable")).StatusCode);

        var response = await client.InvokeAsync(id);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(0, server.Calls);
        Assert.Equal(409, Assert.Single(await client.AuditAsync("plugin.invoke")).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task a_capability_the_manifest_does_not_offer_is_a_422()
    {
        await using var server = await PluginServer.EchoAsync();
        var (admin, _, id) = await fx.EnabledPluginAsync(server.Endpoint);

        var response = await fx.Client(admin.Key).InvokeAsync(id, "teleport");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(0, server.Calls);
    }
}

namespace Aetherra.Integration.Tests.Plugins;

public sealed class PluginLifecycleTests(AetherraFixture fx)
{
    private const string Endpoint = "http://127.0.0.1:9/run";

    private async Task<(HttpClient Admin, Publisher Publisher, string Id)> RegisteredAsync()
    {
        var admin = fx.Client((await fx.NewTenantAsync("admin")).Key);
        var publisher = Publisher.New();
        await admin.TrustAsync(publisher);
        var id = PluginTestSupport.NewPluginId();
        await admin.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId)));
        return (admin, publisher, id);
    }

    /// <summary>Drives a fresh plugin through the moves, each expected to succeed and land in the given status.</summary>
    private static async Task WalkAsync(HttpClient admin, string id, params (string Move, string Status)[] path)
    {
        foreach (var (move, status) in path)
        {
            var response = await admin.MoveAsync(id, move);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Json();
            Assert.Equal(status, body.GetProperty("status").GetString());
            Assert.True(body.GetProperty("sequence").GetInt64() > 0);
            Assert.Equal(status, await admin.StatusOfAsync(id));
        }
    }

    [Fact]
    public async Task every_legal_move_is_an_event_and_the_catalog_follows()
    {
        var (admin, _, id) = await RegisteredAsync();

        await WalkAsync(admin, id, ("enable", "enabled"), ("disable", "disabled"), ("enable", "enabled"), ("disable", "disabled"), ("retire", "retired"));

        using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand(
            "select string_agg(e.type, ',' order by e.version) from aetherra.mt_events e where e.stream_id = (select stream_id from aetherra.mt_events where type = 'plugin.registered.v1' and data->'manifest'->>'id' = @id)", db);
        cmd.Parameters.AddWithValue("id", id);
        Assert.Equal("plugin.registered.v1,plugin.enabled.v1,plugin.disabled.v1,plugin.enabled.v1,plugin.disabled.v1,plugin.retired.v1",
            (string)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task a_registered_plugin_can_be_disabled_or_retired_directly()
    {
        var (admin, publisher, id) = await RegisteredAsync();
        var other = PluginTestSupport.NewPluginId();
        await admin.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(other, Endpoint, publisher.KeyId)));

        await WalkAsync(admin, id, ("disable", "disabled"), ("retire", "retired"));
        await WalkAsync(admin, other, ("retire", "retired"));
    }

    [Theory]
    [InlineData("enable", "enable")]
    [InlineData("disable", "disable")]
    [InlineData("retire", "retire")]
    [InlineData("retire", "enable")]
    [InlineData("retire", "disable")]
    public async Task an_illegal_move_is_a_422_and_audited_as_rejected(string first, string then)
    {
        var (admin, _, id) = await RegisteredAsync();
        if (first == "disable") Assert.Equal(HttpStatusCode.OK, (await admin.MoveAsync(id, "enable")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.MoveAsync(id, first)).StatusCode);
        var before = await admin.StatusOfAsync(id);

        var response = await admin.MoveAsync(id, then);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("cannot be", (await response.Json()).GetProperty("detail").GetString());
        Assert.Equal(before, await admin.StatusOfAsync(id));
        var rejected = (await admin.AuditAsync($"plugin.{then}")).Where(r => r.GetProperty("outcome").GetString() == "rejected").ToArray();
        var record = Assert.Single(rejected);
        Assert.Equal(422, record.GetProperty("status").GetInt32());
        Assert.Equal(id, record.GetProperty("target").GetString());
    }

    [Fact]
    public async Task a_retired_plugin_cannot_be_upgraded()
    {
        var (admin, publisher, id) = await RegisteredAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.MoveAsync(id, "retire")).StatusCode);

        var response = await admin.PostJsonAsync("/plugins", publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId, "2.0.0")));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }

    [Fact]
    public async Task disabling_needs_a_reason()
    {
        var (admin, _, id) = await RegisteredAsync();

        var response = await admin.PostAsJsonAsync($"/plugins/{id}/disable", new { reason = "" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Json()).GetProperty("errors").TryGetProperty("reason", out _));
    }

    [Fact]
    public async Task revoking_a_key_disables_every_plugin_it_signed_with_the_reason_and_no_other()
    {
        var (admin, publisher, enabled) = await RegisteredAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.MoveAsync(enabled, "enable")).StatusCode);
        var registered = PluginTestSupport.NewPluginId();
        await admin.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(registered, Endpoint, publisher.KeyId)));
        var retired = PluginTestSupport.NewPluginId();
        await admin.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(retired, Endpoint, publisher.KeyId)));
        Assert.Equal(HttpStatusCode.OK, (await admin.MoveAsync(retired, "retire")).StatusCode);
        var otherPublisher = Publisher.New();
        await admin.TrustAsync(otherPublisher);
        var unrelated = PluginTestSupport.NewPluginId();
        await admin.RegisterAsync(otherPublisher.Body(PluginTestSupport.Manifest(unrelated, Endpoint, otherPublisher.KeyId)));
        Assert.Equal(HttpStatusCode.OK, (await admin.MoveAsync(unrelated, "enable")).StatusCode);

        var response = await admin.DeleteAsync($"/trust/publishers/{publisher.KeyId}?reason=key%20leaked");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Json();
        Assert.Equal("revoked", body.GetProperty("status").GetString());
        Assert.Equal(2, body.GetProperty("pluginsDisabled").GetInt32());
        foreach (var id in new[] { enabled, registered })
        {
            var detail = await (await admin.GetAsync($"/plugins/{id}")).Json();
            Assert.Equal("disabled", detail.GetProperty("status").GetString());
            Assert.Contains("key leaked", detail.GetProperty("statusReason").GetString());
        }
        Assert.Equal("retired", await admin.StatusOfAsync(retired));
        Assert.Equal("enabled", await admin.StatusOfAsync(unrelated));
        var enable = await admin.MoveAsync(enabled, "enable");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, enable.StatusCode);
        Assert.Contains("no longer trusted", (await enable.Json()).GetProperty("detail").GetString());
        var keys = (await (await admin.GetAsync("/trust/publishers")).Json()).GetProperty("items").EnumerateArray()
            .ToDictionary(k => k.GetProperty("keyId").GetString()!, k => k.GetProperty("status").GetString());
        Assert.Equal("revoked", keys[publisher.KeyId]);
        Assert.Equal("trusted", keys[otherPublisher.KeyId]);
    }

    [Fact]
    public async Task a_revoked_key_cannot_be_revoked_or_trusted_again_and_an_unknown_one_is_404()
    {
        var (admin, publisher, _) = await RegisteredAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/trust/publishers/{publisher.KeyId}")).StatusCode);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await admin.DeleteAsync($"/trust/publishers/{publisher.KeyId}")).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity,
            (await admin.PostAsJsonAsync("/trust/publishers", new { name = "again", publicKey = publisher.PublicKeyBase64 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/trust/publishers/{Publisher.New().KeyId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/trust/publishers/not-a-key")).StatusCode);
    }

    [Fact]
    public async Task trusting_a_key_answers_its_id_and_a_malformed_key_is_a_400()
    {
        var admin = fx.Client((await fx.NewTenantAsync("admin")).Key);
        var publisher = Publisher.New();

        Assert.Equal(publisher.KeyId, await admin.TrustAsync(publisher));
        var bad = await admin.PostAsJsonAsync("/trust/publishers", new { name = "short", publicKey = Convert.ToBase64String(new byte[16]) });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.Json()).GetProperty("errors").TryGetProperty("publicKey", out _));
    }

    [Fact]
    public async Task each_route_needs_its_scope()
    {
        var adminKey = await fx.NewTenantAsync("admin");
        var adminClient = fx.Client(adminKey.Key);
        var pub = Publisher.New();
        await adminClient.TrustAsync(pub);
        var pluginId = PluginTestSupport.NewPluginId();
        await adminClient.RegisterAsync(pub.Body(PluginTestSupport.Manifest(pluginId, Endpoint, pub.KeyId)));
        var reader = fx.Client((await fx.NewKeyAsync(adminKey.Tenant, "plugins:read", "audit:read")).Key);
        var invoker = fx.Client((await fx.NewKeyAsync(adminKey.Tenant, "plugins:invoke")).Key);
        var pluginsAdmin = fx.Client((await fx.NewKeyAsync(adminKey.Tenant, "plugins:admin")).Key);

        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/plugins")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"/plugins/{pluginId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await invoker.GetAsync("/plugins")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.MoveAsync(pluginId, "enable")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await invoker.MoveAsync(pluginId, "disable")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.InvokeAsync(pluginId)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostJsonAsync("/plugins", pub.Body(PluginTestSupport.Manifest(PluginTestSupport.NewPluginId(), Endpoint, pub.KeyId)))).StatusCode);
        // The trust store is the admin's: a plugins:admin key cannot vouch for a publisher.
        Assert.Equal(HttpStatusCode.Forbidden,
            (await pluginsAdmin.PostAsJsonAsync("/trust/publishers", new { name = "mine", publicKey = Publisher.New().PublicKeyBase64 })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await pluginsAdmin.DeleteAsync($"/trust/publishers/{pub.KeyId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await pluginsAdmin.MoveAsync(pluginId, "enable")).StatusCode);
        Assert.Contains(await reader.AuditAsync("plugin.enable"), r => r.GetProperty("status").GetInt32() == 403);
    }

    [Fact]
    public async Task another_tenant_s_plugin_is_not_found_anywhere()
    {
        var (admin, publisher, id) = await RegisteredAsync();
        var other = fx.Client((await fx.NewTenantAsync("admin")).Key);

        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/plugins/{id}")).StatusCode);
        Assert.Empty((await (await other.GetAsync("/plugins")).Json()).GetProperty("items").EnumerateArray());
        foreach (var move in new[] { "enable", "disable", "retire" })
            Assert.Equal(HttpStatusCode.NotFound, (await other.MoveAsync(id, move)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.InvokeAsync(id)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.DeleteAsync($"/trust/publishers/{publisher.KeyId}")).StatusCode);
        Assert.Equal("registered", await admin.StatusOfAsync(id));

        // The same plugin id in the other tenant is a separate plugin with its own stream.
        var otherPublisher = Publisher.New();
        await other.TrustAsync(otherPublisher);
        Assert.Equal(HttpStatusCode.Created,
            (await other.PostJsonAsync("/plugins", otherPublisher.Body(PluginTestSupport.Manifest(id, Endpoint, otherPublisher.KeyId)))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.MoveAsync(id, "retire")).StatusCode);
        Assert.Equal("registered", await admin.StatusOfAsync(id));
    }
}

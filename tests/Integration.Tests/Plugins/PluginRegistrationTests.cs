using System.Text.Json.Nodes;

namespace Aetherra.Integration.Tests.Plugins;

public sealed class PluginRegistrationTests(AetherraFixture fx)
{
    private const string Endpoint = "http://127.0.0.1:9/run";

    private async Task<(HttpClient Admin, Publisher Publisher)> TrustedAsync()
    {
        var admin = fx.Client((await fx.NewTenantAsync("admin")).Key);
        var publisher = Publisher.New();
        await admin.TrustAsync(publisher);
        return (admin, publisher);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string fragment)
    {
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(fragment, (await response.Json()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task a_manifest_signed_by_a_trusted_key_is_registered_and_listed_with_its_status_and_category()
    {
        var (admin, publisher) = await TrustedAsync();
        var id = PluginTestSupport.NewPluginId();

        var response = await admin.PostJsonAsync("/plugins", publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId)));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("registered", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("sequence").GetInt64() > 0);
        var item = Assert.Single((await (await admin.GetAsync("/plugins")).Json()).GetProperty("items").EnumerateArray());
        Assert.Equal(id, item.GetProperty("id").GetString());
        Assert.Equal("registered", item.GetProperty("status").GetString());
        Assert.Equal("testing", item.GetProperty("category").GetString());
        Assert.Equal("1.0.0", item.GetProperty("version").GetString());
        Assert.Equal(0, item.GetProperty("invocations").GetInt64());
        var detail = await (await admin.GetAsync($"/plugins/{id}")).Json();
        Assert.Equal(Endpoint, detail.GetProperty("manifest").GetProperty("endpoint").GetString());
    }

    [Fact]
    public async Task a_field_changed_after_signing_is_refused_and_audited()
    {
        var (admin, publisher) = await TrustedAsync();
        var id = PluginTestSupport.NewPluginId();
        var body = publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId));
        body["manifest"]!["description"] = "Now does something else.";

        var response = await admin.PostJsonAsync("/plugins", body);

        await AssertRefusedAsync(response, "signature does not verify");
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/plugins/{id}")).StatusCode);
        var record = Assert.Single(await admin.AuditAsync("plugin.register"));
        Assert.Equal("rejected", record.GetProperty("outcome").GetString());
        Assert.Equal(422, record.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task reordered_members_and_other_whitespace_still_verify_under_jcs()
    {
        var (admin, publisher) = await TrustedAsync();
        var id = PluginTestSupport.NewPluginId();
        var manifest = PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId);
        var signature = publisher.Sign(manifest);
        // Same members, reversed, with capability members reversed too and different spacing.
        var reordered = new JsonObject(manifest.Reverse().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value!.DeepClone())));
        var capability = (JsonObject)reordered["capabilities"]![0]!;
        reordered["capabilities"] = new JsonArray(new JsonObject(capability.Reverse().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value!.DeepClone()))));
        var raw = "{ \"signature\" : \"" + signature + "\",\n  \"manifest\" :  " + reordered.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + " }";

        var response = await admin.PostRawAsync("/plugins", raw);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task a_manifest_signed_with_another_key_is_refused()
    {
        var (admin, publisher) = await TrustedAsync();
        var impostor = Publisher.New();
        var manifest = PluginTestSupport.Manifest(PluginTestSupport.NewPluginId(), Endpoint, publisher.KeyId);

        var response = await admin.PostJsonAsync("/plugins", new JsonObject { ["manifest"] = manifest, ["signature"] = impostor.Sign(manifest) });

        await AssertRefusedAsync(response, "signature does not verify");
    }

    [Fact]
    public async Task a_manifest_naming_an_unknown_key_is_refused()
    {
        var admin = fx.Client((await fx.NewTenantAsync("admin")).Key);
        var stranger = Publisher.New();

        var response = await admin.PostJsonAsync("/plugins", stranger.Body(PluginTestSupport.Manifest(PluginTestSupport.NewPluginId(), Endpoint, stranger.KeyId)));

        await AssertRefusedAsync(response, "is not trusted");
    }

    [Fact]
    public async Task a_key_trusted_by_another_tenant_is_unknown_here()
    {
        var (_, publisher) = await TrustedAsync();
        var other = fx.Client((await fx.NewTenantAsync("admin")).Key);

        var response = await other.PostJsonAsync("/plugins", publisher.Body(PluginTestSupport.Manifest(PluginTestSupport.NewPluginId(), Endpoint, publisher.KeyId)));

        await AssertRefusedAsync(response, "is not trusted");
    }

    [Fact]
    public async Task a_manifest_signed_by_a_revoked_key_is_refused()
    {
        var (admin, publisher) = await TrustedAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/trust/publishers/{publisher.KeyId}?reason=leaked")).StatusCode);

        var response = await admin.PostJsonAsync("/plugins", publisher.Body(PluginTestSupport.Manifest(PluginTestSupport.NewPluginId(), Endpoint, publisher.KeyId)));

        await AssertRefusedAsync(response, "revoked");
    }

    [Theory]
    [InlineData("http://example.com/run")]
    [InlineData("http://localhost:9/run")]
    [InlineData("https://10.0.0.1/run")]
    public async Task an_endpoint_whose_host_is_not_allowlisted_is_refused_and_audited(string endpoint)
    {
        var (admin, publisher) = await TrustedAsync();

        var response = await admin.PostJsonAsync("/plugins", publisher.Body(PluginTestSupport.Manifest(PluginTestSupport.NewPluginId(), endpoint, publisher.KeyId)));

        await AssertRefusedAsync(response, "allowlist");
        Assert.Equal(422, Assert.Single(await admin.AuditAsync("plugin.register")).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task a_newer_signed_version_upgrades_the_plugin_and_keeps_its_status()
    {
        var (admin, publisher) = await TrustedAsync();
        var id = PluginTestSupport.NewPluginId();
        await admin.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId)));
        Assert.Equal(HttpStatusCode.OK, (await admin.MoveAsync(id, "enable")).StatusCode);

        var response = await admin.PostJsonAsync("/plugins", publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId, "1.1.0-beta.1", "echo", "shout")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await response.Json()).GetProperty("upgraded").GetBoolean());
        var detail = await (await admin.GetAsync($"/plugins/{id}")).Json();
        Assert.Equal("1.1.0-beta.1", detail.GetProperty("version").GetString());
        Assert.Equal("enabled", detail.GetProperty("status").GetString());
        Assert.Equal(2, detail.GetProperty("capabilities").GetArrayLength());
        using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand("select count(*) from aetherra.mt_events where type = 'plugin.upgraded.v1' and data->>'fromVersion' = '1.0.0' and data->'manifest'->>'id' = @id", db);
        cmd.Parameters.AddWithValue("id", id);
        Assert.Equal(1L, (long)(await cmd.ExecuteScalarAsync())!);
    }

    [Theory]
    [InlineData("1.0.0")]
    [InlineData("0.9.9")]
    [InlineData("1.0.0-rc.1")]
    public async Task a_version_that_is_not_newer_is_refused(string version)
    {
        var (admin, publisher) = await TrustedAsync();
        var id = PluginTestSupport.NewPluginId();
        await admin.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId)));

        var response = await admin.PostJsonAsync("/plugins", publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId, version)));

        await AssertRefusedAsync(response, "not newer");
    }

    [Fact]
    public async Task an_upgrade_signed_by_another_trusted_publisher_is_refused()
    {
        var (admin, publisher) = await TrustedAsync();
        var rival = Publisher.New();
        await admin.TrustAsync(rival);
        var id = PluginTestSupport.NewPluginId();
        await admin.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(id, Endpoint, publisher.KeyId)));

        var response = await admin.PostJsonAsync("/plugins", rival.Body(PluginTestSupport.Manifest(id, Endpoint, rival.KeyId, "2.0.0")));

        await AssertRefusedAsync(response, "same key");
    }

    [Fact]
    public async Task an_invalid_manifest_is_a_400_listing_each_field()
    {
        var (admin, publisher) = await TrustedAsync();
        var manifest = PluginTestSupport.Manifest("Not A Valid Id", "ftp://127.0.0.1/run", publisher.KeyId, "1.0");
        manifest["capabilities"] = new JsonArray();

        var response = await admin.PostJsonAsync("/plugins", new JsonObject { ["manifest"] = manifest, ["signature"] = "AAAA" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Json()).GetProperty("errors");
        foreach (var field in new[] { "manifest.id", "manifest.version", "manifest.endpoint", "manifest.capabilities", "signature" })
            Assert.True(errors.TryGetProperty(field, out _), $"no error for {field}: {errors}");
        Assert.Equal(400, Assert.Single(await admin.AuditAsync("plugin.register")).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task a_manifest_with_a_field_the_manifest_does_not_define_is_refused_even_when_signed()
    {
        var (admin, publisher) = await TrustedAsync();
        var manifest = PluginTestSupport.Manifest(PluginTestSupport.NewPluginId(), Endpoint, publisher.KeyId);
        manifest["homepage"] = "http://127.0.0.1/";

        var response = await admin.PostJsonAsync("/plugins", publisher.Body(manifest));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Json()).GetProperty("errors").TryGetProperty("manifest", out _));
    }

    [Fact]
    public async Task a_manifest_with_a_duplicate_member_is_refused()
    {
        var (admin, publisher) = await TrustedAsync();
        var manifest = PluginTestSupport.Manifest(PluginTestSupport.NewPluginId(), Endpoint, publisher.KeyId);
        var json = manifest.ToJsonString();
        var raw = "{\"manifest\":" + json[..^1] + ",\"name\":\"Other\"},\"signature\":\"" + publisher.Sign(manifest) + "\"}";

        var response = await admin.PostRawAsync("/plugins", raw);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}

using System.Net.Http.Headers;
using System.Text;

namespace Aetherra.Integration.Tests.Plugins;

/// <summary>
/// Issue 19's hub between two real servers on loopback (each its own process and database): A publishes its signed
/// catalogue, B adds A as a source, syncs, sees the plugins its own trust store vouches for, and imports one. A copy of
/// A's catalogue with one byte changed, served from a small loopback server, is refused with the reason, as an event.
/// </summary>
public sealed class HubTests(AetherraFixture fx)
{
    private static HttpClient Client(Uri baseAddress, string key)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    [Fact]
    public async Task two_instances_exchange_a_signed_catalogue_and_a_one_byte_change_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        // The fixture's 2 s plugin timeout is for plugins on loopback; a server process building its first catalogue
        // on two cores shared with the whole suite can take longer.
        var env = new Dictionary<string, string>
        {
            ["AETHERRA_PLUGIN_HOSTS"] = "127.0.0.1", ["AETHERRA_HUB_SYNC_SECONDS"] = "0", ["AETHERRA_PLUGIN_TIMEOUT_MS"] = "30000",
        };
        await using var a = await fx.StartLoopbackServerAsync(env, ct);
        await using var b = await fx.StartLoopbackServerAsync(env, ct);

        // A: one trusted publisher with two plugins (one enabled), and one plugin of a publisher B will not trust.
        using var adminA = Client(a.BaseAddress, await a.NewKeyAsync("a-admin", "tenant-a", ["admin"], ct));
        var publisher = Publisher.New();
        var stranger = Publisher.New();
        await adminA.TrustAsync(publisher);
        await adminA.TrustAsync(stranger);
        var (first, second, foreign) = (PluginTestSupport.NewPluginId(), PluginTestSupport.NewPluginId(), PluginTestSupport.NewPluginId());
        await adminA.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(first, "http://127.0.0.1:9/run", publisher.KeyId)));
        await adminA.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(second, "http://127.0.0.1:9/run", publisher.KeyId, "2.1.0")));
        await adminA.RegisterAsync(stranger.Body(PluginTestSupport.Manifest(foreign, "http://127.0.0.1:9/run", stranger.KeyId)));
        Assert.Equal(HttpStatusCode.OK, (await adminA.MoveAsync(second, "enable")).StatusCode);
        var publicKey = (await (await adminA.GetAsync("/audit/public-key", ct)).Json()).GetProperty("publicKey").GetString()!;
        var readerKey = await a.NewKeyAsync("hub-reader", "tenant-a", ["plugins:read"], ct);
        var catalogueUrl = new Uri(a.BaseAddress, "/hub/catalogue").ToString();

        // B: trusts the publisher (in its own trust store), not the stranger.
        using var adminB = Client(b.BaseAddress, await b.NewKeyAsync("b-admin", "tenant-b", ["admin"], ct));
        await adminB.TrustAsync(publisher);
        var added = await adminB.PostAsJsonAsync("/hub/sources", new { name = "instance A", url = catalogueUrl, publicKey, accessKey = readerKey }, ct);
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var source = (await added.Json()).GetProperty("id").GetGuid();

        var synced = await adminB.PostAsync($"/hub/sources/{source}/sync", null, ct);
        var sync = await synced.Json();
        Assert.True(synced.StatusCode == HttpStatusCode.OK, sync.ToString());
        Assert.Equal("synced", sync.GetProperty("status").GetString());
        Assert.Equal(new[] { first, second }.Order(StringComparer.Ordinal),
            sync.GetProperty("offered").EnumerateArray().Select(x => x.GetString()!).Order(StringComparer.Ordinal));
        var refusedManifest = Assert.Single(sync.GetProperty("refused").EnumerateArray());
        Assert.Equal(foreign, refusedManifest.GetProperty("pluginId").GetString());
        Assert.Contains("not trusted in this tenant", refusedManifest.GetProperty("reason").GetString());

        var view = await (await adminB.GetAsync($"/hub/sources/{source}", ct)).Json();
        Assert.Equal(2, view.GetProperty("offered").GetInt32());
        Assert.False(view.GetProperty("offers").EnumerateArray().Single(o => o.GetProperty("pluginId").GetString() == second).GetProperty("imported").GetBoolean());

        // B registers one of the offers; it is B's plugin now, verified against B's trust store.
        var imported = await adminB.PostAsync($"/hub/sources/{source}/plugins/{second}/import", null, ct);
        Assert.True(imported.StatusCode == HttpStatusCode.Created, await imported.Content.ReadAsStringAsync(ct));
        Assert.Equal("registered", await adminB.StatusOfAsync(second));
        Assert.Equal("2.1.0", (await (await adminB.GetAsync($"/plugins/{second}", ct)).Json()).GetProperty("version").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await adminB.GetAsync($"/plugins/{first}", ct)).StatusCode);
        // What the source does not offer (the stranger's plugin) cannot be imported.
        await (await adminB.PostAsync($"/hub/sources/{source}/plugins/{foreign}/import", null, ct)).AssertProblem(HttpStatusCode.UnprocessableEntity);

        // A copy of A's catalogue, byte for byte, and the same with one byte of a description changed.
        using var reader = Client(a.BaseAddress, readerKey);
        var original = await reader.GetByteArrayAsync("/hub/catalogue", ct);
        var tampered = (byte[])original.Clone();
        var at = Encoding.UTF8.GetString(original).IndexOf("serve on loopback", StringComparison.Ordinal);
        Assert.True(at > 0);
        tampered[at] = (byte)'S';
        await using var mirror = await PluginServer.StartAsync(async context =>
        {
            var body = context.Request.Path.Value!.EndsWith("/tampered", StringComparison.Ordinal) ? tampered : original;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(body);
        });
        var mirrorBase = mirror.Endpoint[..mirror.Endpoint.LastIndexOf('/')];

        async Task<(Guid Id, HttpResponseMessage Sync)> SyncFromAsync(string url)
        {
            var response = await adminB.PostAsJsonAsync("/hub/sources", new { name = "mirror", url, publicKey }, ct);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var id = (await response.Json()).GetProperty("id").GetGuid();
            return (id, await adminB.PostAsync($"/hub/sources/{id}/sync", null, ct));
        }

        // The untouched copy verifies wherever it is served from: the signature, not the URL, is what is trusted.
        var (_, faithful) = await SyncFromAsync(mirrorBase + "/original");
        Assert.Equal(HttpStatusCode.OK, faithful.StatusCode);

        var (tamperedId, refusal) = await SyncFromAsync(mirrorBase + "/tampered");
        var problem = await refusal.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("signature does not verify", problem.GetProperty("detail").GetString());
        var refusedAt = problem.GetProperty("sequence").GetInt64();
        var after = await (await adminB.GetAsync($"/hub/sources/{tamperedId}", ct)).Json();
        Assert.Contains("signature does not verify", after.GetProperty("lastRefusal").GetString());
        Assert.Equal(0, after.GetProperty("offered").GetInt32());

        // Every sync, refusal and import is an event of B's tenant, and each command is audited.
        var events = (await (await adminB.GetAsync($"/events?types=hub.catalogue-synced.v1,hub.catalogue-refused.v1,hub.manifest-refused.v1,hub.plugin-imported.v1&limit=100&minSequence={refusedAt}", ct)).Json())
            .GetProperty("events").EnumerateArray().ToList();
        var types = events.Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(2, types.Count(t => t == "hub.catalogue-synced.v1"));
        Assert.Equal(1, types.Count(t => t == "hub.catalogue-refused.v1"));
        Assert.Equal(2, types.Count(t => t == "hub.manifest-refused.v1"));
        Assert.Equal(1, types.Count(t => t == "hub.plugin-imported.v1"));
        var refusedEvent = events.Single(e => e.GetProperty("type").GetString() == "hub.catalogue-refused.v1");
        Assert.Equal(tamperedId, refusedEvent.GetProperty("streamId").GetGuid());

        var audit = (await (await adminB.GetAsync($"/audit?action=hub.source-sync&limit=50&minSequence={refusedAt}", ct)).Json()).GetProperty("records").EnumerateArray().ToList();
        Assert.Contains(audit, r => r.GetProperty("status").GetInt32() == 422 && r.GetProperty("target").GetString() == tamperedId.ToString());
    }

    [Fact]
    public async Task a_source_must_be_on_the_allowlist_and_carry_a_real_key()
    {
        var admin = fx.Client((await fx.NewTenantAsync("admin")).Key);
        var key = Convert.ToBase64String(Publisher.New().PublicKey);
        await (await admin.PostAsJsonAsync("/hub/sources", new { name = "far", url = "http://example.org/hub/catalogue", publicKey = key }))
            .AssertProblem(HttpStatusCode.UnprocessableEntity);
        await (await admin.PostAsJsonAsync("/hub/sources", new { name = "bad key", url = "http://127.0.0.1:9/hub/catalogue", publicKey = "AAAA" }))
            .AssertProblem(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync("/hub/sources", new { name = "creds", url = "http://u:p@127.0.0.1:9/hub/catalogue", publicKey = key }))
            .AssertProblem(HttpStatusCode.BadRequest);
        // Unreachable: the refusal is recorded and answered with its reason.
        var added = await admin.PostAsJsonAsync("/hub/sources", new { name = "closed port", url = "http://127.0.0.1:9/hub/catalogue", publicKey = key });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var id = (await added.Json()).GetProperty("id").GetGuid();
        var problem = await (await admin.PostAsync($"/hub/sources/{id}/sync", null)).AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("could not be reached", problem.GetProperty("detail").GetString());
        // The catalogue route needs a key, and a plugins:read key of the tenant reads it.
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client().GetAsync("/hub/catalogue")).StatusCode);
        var readerKey = await fx.NewTenantAsync("plugins:read");
        var catalogue = await (await fx.Client(readerKey.Key).GetAsync("/hub/catalogue")).Json();
        Assert.Equal("aetherra.plugin-catalogue.v1", catalogue.GetProperty("catalogue").GetProperty("type").GetString());
        Assert.Equal(readerKey.Tenant, catalogue.GetProperty("catalogue").GetProperty("tenant").GetString());
        Assert.Equal(0, catalogue.GetProperty("catalogue").GetProperty("plugins").GetArrayLength());
    }

    [Fact]
    public async Task a_manifest_changed_after_its_publisher_signed_it_is_refused_alone_with_the_reason()
    {
        // A catalogue signed by a source key this test holds: one honest manifest, and one whose description was
        // changed after its publisher signed it (the catalogue's own signature is good: the source vouches for the
        // list, never for the manifests, which the consumer checks against its own trust store).
        var admin = fx.Client((await fx.NewTenantAsync("admin")).Key);
        var publisher = Publisher.New();
        await admin.TrustAsync(publisher);
        var (honest, altered) = (PluginTestSupport.NewPluginId(), PluginTestSupport.NewPluginId());
        var changed = PluginTestSupport.Manifest(altered, "http://127.0.0.1:9/run", publisher.KeyId);
        var signature = publisher.Sign(changed);
        changed["description"] = "A plugin the tests serve on loopback, now doing more.";
        var catalogue = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "aetherra.plugin-catalogue.v1", ["origin"] = "elsewhere.example/audit", ["tenant"] = "elsewhere",
            ["issuedAt"] = DateTimeOffset.UtcNow.ToString("O"),
            ["plugins"] = new System.Text.Json.Nodes.JsonArray(
                publisher.Body(PluginTestSupport.Manifest(honest, "http://127.0.0.1:9/run", publisher.KeyId)),
                new System.Text.Json.Nodes.JsonObject { ["manifest"] = changed, ["signature"] = signature }),
        };
        var source = Publisher.New();
        var text = Aetherra.Infrastructure.Json.CanonicalJson.CanonicalText(catalogue.ToJsonString());
        var signed = Convert.ToBase64String(Aetherra.Infrastructure.Crypto.Ed25519Signatures.Sign(source.PrivateKey, Encoding.UTF8.GetBytes(text)));
        var body = Encoding.UTF8.GetBytes($"{{\"catalogue\":{text},\"signature\":\"{signed}\"}}");
        await using var server = await PluginServer.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(body);
        });

        var added = await admin.PostAsJsonAsync("/hub/sources", new { name = "crafted", url = server.Endpoint, publicKey = source.PublicKeyBase64 });
        var id = (await added.Json()).GetProperty("id").GetGuid();
        var sync = await (await admin.PostAsync($"/hub/sources/{id}/sync", null)).Json();
        Assert.Equal(new[] { honest }, sync.GetProperty("offered").EnumerateArray().Select(x => x.GetString()!).ToArray());
        var refused = Assert.Single(sync.GetProperty("refused").EnumerateArray());
        Assert.Equal(altered, refused.GetProperty("pluginId").GetString());
        Assert.Contains($"does not verify with publisher key {publisher.KeyId}", refused.GetProperty("reason").GetString());
        var events = (await (await admin.GetAsync($"/events?types=hub.manifest-refused.v1&minSequence={sync.GetProperty("sequence").GetInt64()}")).Json())
            .GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(altered, Assert.Single(events).GetProperty("data").GetProperty("pluginId").GetString());
    }

    [Fact]
    public async Task the_hub_routes_are_documented_with_their_answers()
    {
        var doc = await (await fx.Client().GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken)).Json();
        var paths = doc.GetProperty("paths");
        var add = paths.GetProperty("/hub/sources").GetProperty("post");
        Assert.Equal("Add another instance as a source of signed plugin catalogues", add.GetProperty("summary").GetString());
        Assert.True(add.GetProperty("responses").TryGetProperty("201", out _));
        Assert.False(add.GetProperty("responses").TryGetProperty("200", out _));
        var import = paths.GetProperty("/hub/sources/{id}/plugins/{pluginId}/import").GetProperty("post").GetProperty("responses");
        Assert.True(import.TryGetProperty("201", out _) && import.TryGetProperty("200", out _));
        Assert.True(paths.GetProperty("/hub/sources/{id}/sync").GetProperty("post").GetProperty("responses").GetProperty("422")
            .GetProperty("content").TryGetProperty("application/problem+json", out _));
        Assert.True(paths.GetProperty("/hub/catalogue").GetProperty("get").GetProperty("security")[0].TryGetProperty("Bearer", out _));
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aetherra.Integration.Tests.Plugins;

/// <summary>A publisher: an Ed25519 key pair that signs manifests the way `aetherra plugins sign` does.</summary>
public sealed record Publisher(byte[] PrivateKey, byte[] PublicKey)
{
    public string KeyId => Ed25519Signatures.KeyId(PublicKey);
    public string PublicKeyBase64 => Convert.ToBase64String(PublicKey);

    public static Publisher New()
    {
        var (privateKey, publicKey) = Ed25519Signatures.Generate();
        return new Publisher(privateKey, publicKey);
    }

    public string Sign(JsonNode manifest) => Convert.ToBase64String(
        Ed25519Signatures.Sign(PrivateKey, Encoding.UTF8.GetBytes(CanonicalJson.CanonicalText(manifest.ToJsonString()))));

    /// <summary>The POST /plugins body for the manifest, signed by this publisher.</summary>
    public JsonObject Body(JsonObject manifest) => new() { ["manifest"] = manifest.DeepClone(), ["signature"] = Sign(manifest) };
}

public static class PluginTestSupport
{
    public static string NewPluginId() => "com.example.p" + Guid.NewGuid().ToString("N")[..10];

    public static JsonObject Manifest(string id, string endpoint, string keyId, string version = "1.0.0", params string[] capabilities) => new()
    {
        ["id"] = id,
        ["name"] = "Test plugin " + id,
        ["version"] = version,
        ["category"] = "testing",
        ["description"] = "A plugin the tests serve on loopback.",
        ["endpoint"] = endpoint,
        ["publisherKeyId"] = keyId,
        ["capabilities"] = new JsonArray((capabilities.Length == 0 ? ["echo"] : capabilities)
            .Select(c => (JsonNode)new JsonObject { ["name"] = c, ["description"] = "does " + c }).ToArray()),
    };

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, JsonNode body) =>
        client.PostAsync(url, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string url, string json) =>
        client.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));

    public static async Task<string> TrustAsync(this HttpClient admin, Publisher publisher)
    {
        var response = await admin.PostAsJsonAsync("/trust/publishers", new { name = "Example Corp", publicKey = publisher.PublicKeyBase64 });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Json()).GetProperty("keyId").GetString()!;
    }

    public static async Task<long> RegisterAsync(this HttpClient admin, JsonObject body)
    {
        var response = await admin.PostJsonAsync("/plugins", body);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Json()).GetProperty("sequence").GetInt64();
    }

    public static async Task<string> StatusOfAsync(this HttpClient client, string pluginId) =>
        (await (await client.GetAsync($"/plugins/{pluginId}")).Json()).GetProperty("status").GetString()!;

    public static Task<HttpResponseMessage> MoveAsync(this HttpClient client, string pluginId, string move, string reason = "testing") =>
        move == "enable"
            ? client.PostAsync($"/plugins/{pluginId}/enable", null)
            : client.PostAsJsonAsync($"/plugins/{pluginId}/{move}", new { reason });

    public static Task<HttpResponseMessage> InvokeAsync(this HttpClient client, string pluginId, string capability = "echo", object? input = null) =>
        client.PostAsJsonAsync($"/plugins/{pluginId}/invoke", new { capability, input = input ?? new { text = "hello" } });

    /// <summary>A fresh tenant with an admin key, a trusted publisher and one plugin of it, enabled.</summary>
    public static async Task<(TenantKey Admin, Publisher Publisher, string PluginId)> EnabledPluginAsync(
        this AetherraFixture fx, string endpoint, params string[] capabilities)
    {
        var admin = await fx.NewTenantAsync("admin");
        var client = fx.Client(admin.Key);
        var publisher = Publisher.New();
        await client.TrustAsync(publisher);
        var id = NewPluginId();
        await client.RegisterAsync(publisher.Body(Manifest(id, endpoint, publisher.KeyId, capabilities: capabilities)));
        Assert.Equal(HttpStatusCode.OK, (await client.MoveAsync(id, "enable")).StatusCode);
        return (admin, publisher, id);
    }
}

/// <summary>
/// A real HTTP plugin on loopback (Kestrel on 127.0.0.1, a free port), answering with the handler the test gives.
/// It counts the calls that reached it, so a test can prove a call was not made.
/// </summary>
public sealed class PluginServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _calls;

    private PluginServer(WebApplication app) => _app = app;

    public int Calls => Volatile.Read(ref _calls);
    public string Endpoint { get; private set; } = "";
    public string Port => new Uri(Endpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<PluginServer> StartAsync(Func<HttpContext, Task> handle)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new PluginServer(app);
        app.Run(async context =>
        {
            Interlocked.Increment(ref server._calls);
            await handle(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = address.TrimEnd('/') + "/run";
        return server;
    }

    /// <summary>Answers {output: {capability, input}}: what it was asked, so a test sees the protocol end to end.</summary>
    public static Task<PluginServer> EchoAsync() => StartAsync(async context =>
    {
        using var request = await JsonDocument.ParseAsync(context.Request.Body);
        var root = request.RootElement;
        await context.Response.WriteAsJsonAsync(new
        {
            output = new
            {
                capability = root.GetProperty("capability").GetString(), input = root.GetProperty("input"),
                invocationId = root.GetProperty("invocationId").GetString(), contentLength = context.Request.ContentLength,
            },
        });
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

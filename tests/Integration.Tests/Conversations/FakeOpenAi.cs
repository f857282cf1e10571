using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aetherra.Integration.Tests.Conversations;

/// <summary>
/// An OpenAI-compatible chat completions server on loopback (Kestrel), streaming like the real one: SSE chunks with
/// a delta each, a usage chunk, then [DONE]. The first path segment picks its behaviour, so one server plays every
/// provider of a chain: ok, slowstream (a pause between chunks), slow (no first token for 5 s), fail500, rate429,
/// broken (one chunk, then the connection drops), badjson.
/// </summary>
public sealed class FakeOpenAi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _calls = new();
    public ConcurrentQueue<string> Authorizations { get; } = new();
    public string Address { get; private set; } = "";

    private FakeOpenAi(WebApplication app) => _app = app;

    public int Calls(string mode) => _calls.GetValueOrDefault(mode);

    public string BaseUrl(string mode) => $"{Address}/{mode}/v1";

    public static readonly string[] Reply = ["Alice", " drinks", " green", " tea", " [1]."];

    /// <summary>
    /// The answer to an extraction request (a non-streamed one asking for JSON), given the request's body; by default
    /// nothing to keep. Each extraction request's body is kept in <see cref="Extractions"/>.
    /// </summary>
    public Func<string, string> Extract { get; set; } = _ => "{\"memories\": []}";
    public ConcurrentQueue<string> Extractions { get; } = new();

    /// <summary>Awaited before an extraction request is answered (given its body): a test holds the model's answer with it.</summary>
    public Func<string, Task>? Hold { get; set; }

    public static async Task<FakeOpenAi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAi(app);
        app.Run(context => server.HandleAsync(context));
        await app.StartAsync();
        server.Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var mode = context.Request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries)[0];
        _calls.AddOrUpdate(mode, 1, (_, n) => n + 1);
        Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
        var request = await new StreamReader(context.Request.Body).ReadToEndAsync();
        var streamed = JsonDocument.Parse(request).RootElement.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var ct = context.RequestAborted;
        switch (mode)
        {
            case "fail500":
                context.Response.StatusCode = 500;
                await context.Response.WriteAsJsonAsync(new { error = new { message = "boom", type = "server_error" } }, ct);
                return;
            case "rate429":
                context.Response.StatusCode = 429;
                await context.Response.WriteAsJsonAsync(new { error = new { message = "slow down", type = "rate_limit" } }, ct);
                return;
            case "slow":
                await Task.Delay(TimeSpan.FromSeconds(5), ct);
                break;
        }
        if (!streamed)
        {
            if (mode == "badjson")
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{this is not json", ct);
                return;
            }
            if (Hold is { } hold) await hold(request);
            Extractions.Enqueue(request);
            await context.Response.WriteAsJsonAsync(new
            {
                id = "c2", @object = "chat.completion", created = 1, model = "fake",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = Extract(request) }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 30, completion_tokens = 12, total_tokens = 42 },
            }, ct);
            return;
        }
        context.Response.ContentType = "text/event-stream";
        if (mode == "badjson")
        {
            await context.Response.WriteAsync("data: {this is not json\n\n", ct);
            return;
        }
        foreach (var (text, i) in Reply.Select((t, i) => (t, i)))
        {
            await Chunk(context, new { content = text }, null, ct);
            if (mode == "broken" && i == 1)
            {
                // Let the client read what was sent (a reset can discard unread data), then drop the connection.
                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
                context.Abort();
                return;
            }
            if (mode == "slowstream") await Task.Delay(TimeSpan.FromMilliseconds(400), ct);
        }
        await Chunk(context, new { }, "stop", ct);
        await context.Response.WriteAsync(
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"fake\",\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":5,\"total_tokens\":47}}\n\n", ct);
        await context.Response.WriteAsync("data: [DONE]\n\n", ct);
    }

    private static async Task Chunk(HttpContext context, object delta, string? finish, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(new
        {
            id = "c1", @object = "chat.completion.chunk", created = 1, model = "fake",
            choices = new[] { new { index = 0, delta, finish_reason = finish } },
        });
        await context.Response.WriteAsync($"data: {json}\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

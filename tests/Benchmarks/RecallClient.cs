using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Aetherra.Benchmarks;

/// <summary>The few API calls the recall evaluation and benchmark make, over real HTTP, as one tenant key.</summary>
public sealed class RecallClient : IDisposable
{
    private readonly HttpClient _http;

    private RecallClient(HttpClient http) => _http = http;

    public string Key => _http.DefaultRequestHeaders.Authorization?.Parameter ?? "";

    /// <summary>An existing tenant key against a (restarted) server.</summary>
    public static RecallClient ForKey(ServerProcess server, string key)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, UseCookies = false })
        {
            BaseAddress = server.BaseAddress,
            Timeout = TimeSpan.FromMinutes(5)
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return new RecallClient(http);
    }

    /// <summary>A new key of <paramref name="tenant"/> (memory:read and memory:write) from the bootstrap admin key.</summary>
    public static async Task<RecallClient> ForNewTenantAsync(ServerProcess server, string tenant, CancellationToken ct) =>
        ForKey(server, await server.NewKeyAsync("recall", tenant, ["memory:read", "memory:write"], ct));

    /// <summary>POST /memories/batch (at most 1,000): the memory ids in order, and the sequence of the write.</summary>
    public async Task<(Guid[] Ids, long Sequence)> BatchAsync(byte[] body, CancellationToken ct)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync("/memories/batch", content, ct);
        await EnsureAsync(response, HttpStatusCode.OK, "/memories/batch", ct);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        var ids = answer.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ToArray();
        return (ids, answer.GetProperty("sequence").GetInt64());
    }

    public sealed record Answer(Guid[] Ids, double TookMs, double ClientMs);

    /// <summary>POST /recall; null when the server answered 503 (the read model has not reached minSequence).</summary>
    public async Task<Answer?> RecallAsync(string query, string? subject, int limit, long? minSequence, CancellationToken ct)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["query"] = query, ["subject"] = subject, ["limit"] = limit, ["minSequence"] = minSequence
        });
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var started = Stopwatch.GetTimestamp();
        using var response = await _http.PostAsync("/recall", content, ct);
        var text = await response.Content.ReadAsByteArrayAsync(ct);
        var clientMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable) return null;
        if (response.StatusCode != HttpStatusCode.OK)
            throw new HttpRequestException($"{(int)response.StatusCode} from /recall: {System.Text.Encoding.UTF8.GetString(text)[..Math.Min(text.Length, 300)]}");
        using var json = JsonDocument.Parse(text);
        var ids = json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ToArray();
        return new Answer(ids, json.RootElement.GetProperty("tookMs").GetDouble(), clientMs);
    }

    /// <summary>
    /// Read-your-writes through the API itself: a recall with minSequence, repeated while the server answers 503
    /// (it waits up to 5 s per call for the RecallEntry projection).
    /// </summary>
    public async Task<TimeSpan> WaitForProjectionAsync(string subject, long sequence, TimeSpan timeout, Action<string> progress, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var calls = 0;
        while (await RecallAsync("wait", subject, 1, sequence, ct) is null)
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
                throw new TimeoutException($"the recall projection did not reach sequence {sequence} within {timeout.TotalSeconds:0} s");
            if (++calls % 6 == 0) progress($"  still waiting for the projection ({Stopwatch.GetElapsedTime(started).TotalSeconds:0} s)");
        }
        return Stopwatch.GetElapsedTime(started);
    }

    private static async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, string path, CancellationToken ct)
    {
        if (response.StatusCode == expected) return;
        var answer = await response.Content.ReadAsStringAsync(ct);
        throw new HttpRequestException($"{(int)response.StatusCode} from {path}: {answer[..Math.Min(answer.Length, 300)]}");
    }

    public void Dispose() => _http.Dispose();
}

using Microsoft.Extensions.DependencyInjection;
namespace Aetherra.Integration.Tests;

/// <summary>
/// What the recall tests share. RecallEntry is an async projection: every recall that must see a write
/// passes that write's sequence as minSequence, which is how a client reads its own writes (no sleeps).
/// </summary>
public static class RecallTestSupport
{
    /// <summary>
    /// POST /recall; asserts 200 and hands back the results. A 503 "not yet consistent" is asked again at
    /// once, as its Retry-After invites: each ask waits on the server for the projection (up to 5 s), and
    /// under the whole suite the projection embeds other tests' thousands of memories ahead of ours.
    /// </summary>
    public static async Task<JsonElement[]> RecallAsync(this HttpClient client, object request)
    {
        var deadline = DateTimeOffset.UtcNow + NotYetConsistentPatience;
        while (true)
        {
            var response = await client.PostAsJsonAsync("/recall", request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && text.Contains("\"minSequence\"")
                && DateTimeOffset.UtcNow < deadline)
                continue;
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"recall answered {(int)response.StatusCode}: {text}");
            return JsonDocument.Parse(text).RootElement.Clone().GetProperty("results").EnumerateArray().ToArray();
        }
    }

    public static readonly TimeSpan NotYetConsistentPatience = TimeSpan.FromSeconds(120);

    /// <summary>
    /// GET of a read model with minSequence: a 503 "not yet consistent" is asked again, as for recall (an async
    /// projection can be more than the server's 5 s wait behind while the whole suite runs). The 200 answer.
    /// </summary>
    public static async Task<HttpResponseMessage> GetConsistentAsync(this HttpClient client, string url)
    {
        var deadline = DateTimeOffset.UtcNow + NotYetConsistentPatience;
        while (true)
        {
            var response = await client.GetAsync(url);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || !url.Contains("minSequence=") || DateTimeOffset.UtcNow >= deadline)
                return response;
        }
    }

    /// <summary>Waits (in process, up to the same patience) until an async projection has reached the sequence.</summary>
    public static Task WaitForProjectionAsync(this AetherraFixture fx, string projection, long sequence) =>
        Aetherra.Application.Common.Consistency.WaitForProjectionAsync(
            fx.Host.Services.GetRequiredService<Npgsql.NpgsqlDataSource>(), projection, sequence, TimeProvider.System,
            CancellationToken.None, NotYetConsistentPatience);

    public static Guid[] Ids(this IEnumerable<JsonElement> results) => results.Select(r => r.GetProperty("id").GetGuid()).ToArray();

    public static string[] Contents(this IEnumerable<JsonElement> results) => results.Select(r => r.GetProperty("content").GetString()!).ToArray();

    /// <summary>Records the memories in one batch; their ids in order, and the batch's sequence.</summary>
    public static async Task<(Guid[] Ids, long Sequence)> RecordBatchAsync(this HttpClient client, IEnumerable<object> memories)
    {
        var response = await client.PostAsJsonAsync("/memories/batch", new { memories });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        return (body.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ToArray(),
            body.GetProperty("sequence").GetInt64());
    }

    /// <summary>A write that answers {sequence}: asserts 200 and hands back the sequence.</summary>
    public static async Task<long> SequenceOf(this Task<HttpResponseMessage> sending)
    {
        var response = await sending;
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Json()).GetProperty("sequence").GetInt64();
    }

    /// <summary>The instant of each event of the memory's stream (GET /memories/{id}/history), by version.</summary>
    public static async Task<DateTimeOffset[]> HistoryInstantsAsync(this HttpClient client, Guid id)
    {
        var response = await client.GetAsync($"/memories/{id}/history");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Json()).EnumerateArray()
            .OrderBy(e => e.GetProperty("version").GetInt64())
            .Select(e => e.GetProperty("at").GetDateTimeOffset())
            .ToArray();
    }

    public static DateTimeOffset Between(DateTimeOffset from, DateTimeOffset to)
    {
        Assert.True(from < to, $"{from:O} is not before {to:O}");
        return from + (to - from) / 2;
    }
}

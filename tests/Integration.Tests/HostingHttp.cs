using System.Text;
using Npgsql;

namespace Aetherra.Integration.Tests;

/// <summary>Requests with any method, body and headers, and the checks every problem answer must pass.</summary>
public static class HostingHttp
{
    public static HttpRequestMessage Request(HttpMethod method, string path, object? body = null, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return request;
    }

    public static Task<HttpResponseMessage> Send(this HttpClient client, HttpMethod method, string path,
        object? body = null, string? idempotencyKey = null) =>
        client.SendAsync(Request(method, path, body, idempotencyKey));

    /// <summary>
    /// The answer is an RFC 9457 problem with this status, naming the request it answers (a replay names
    /// the request that first ran); returns its body.
    /// </summary>
    public static async Task<JsonElement> AssertProblem(this HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        if (!response.Replayed()) Assert.Equal(response.RequestId(), body.GetProperty("requestId").GetString());
        return body;
    }

    public static string RequestId(this HttpResponseMessage response) =>
        Assert.Single(response.Headers.GetValues("X-Request-Id"));

    public static bool Replayed(this HttpResponseMessage response) =>
        response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Contains("true");

    /// <summary>Every row of a table as its PostgreSQL text form: what a dump of it would show.</summary>
    public static async Task<string> DumpTableAsync(this AetherraFixture fx, string table)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new NpgsqlCommand($"select coalesce(string_agg(t::text, E'\\n'), '') from {table} t", db);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>A secret as a dump could show it: as text, or as the hex of its bytes inside a bytea column.</summary>
    public static void AssertAbsentFrom(string secret, string dump)
    {
        Assert.DoesNotContain(secret, dump, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(secret)), dump, StringComparison.OrdinalIgnoreCase);
    }

    public static async Task<long> CountEventsAsync(this AetherraFixture fx, string tenant, string type)
    {
        await using var db = fx.OpenDatabase();
        await using var count = new NpgsqlCommand("select count(*) from aetherra.mt_events where tenant_id = $1 and type = $2", db)
        {
            Parameters = { new() { Value = tenant }, new() { Value = type } }
        };
        return (long)(await count.ExecuteScalarAsync())!;
    }
}

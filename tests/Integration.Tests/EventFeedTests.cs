using Npgsql;
using System.Net.Http.Headers;

namespace Aetherra.Integration.Tests;

public sealed class EventFeedTests(AetherraFixture fx)
{
    [Fact]
    public async Task the_feed_pages_a_tenants_events_in_order_and_filters_by_type()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write", "events:read");
        var other = await fx.NewTenantAsync("memory:write");
        var client = fx.Client(key.Key);
        await fx.Client(other.Key).RecordAsync(Api.Memory("Lou's secret recipe"));
        var (first, _) = await client.RecordAsync(Api.Memory("Mo drinks oat milk"));
        var (second, last) = await client.RecordAsync(Api.Memory("Mo runs on Sundays"));

        var page = await client.EventsAsync($"/events?types=memory.recorded.v1&limit=1&minSequence={last}");
        var events = page.GetProperty("events").EnumerateArray().ToArray();
        Assert.Single(events);
        Assert.Equal(first, events[0].GetProperty("streamId").GetGuid());
        var next = page.GetProperty("next").GetInt64();
        var rest = (await (await client.GetAsync($"/events?types=memory.recorded.v1&after={next}")).Json())
            .GetProperty("events").EnumerateArray().ToArray();

        Assert.Equal([second], rest.Select(e => e.GetProperty("streamId").GetGuid()));
        Assert.Equal("Mo runs on Sundays", rest[0].GetProperty("data").GetProperty("content").GetString());
        var all = (await (await client.GetAsync("/events?limit=1000")).Json()).GetProperty("events").EnumerateArray().ToArray();
        Assert.DoesNotContain(all, e => e.GetProperty("data").ToString().Contains("Lou"));
        Assert.Contains(all, e => e.GetProperty("type").GetString() == "audit.recorded.v1");
        var sequences = all.Select(e => e.GetProperty("sequence").GetInt64()).ToArray();
        Assert.Equal(sequences.Order(), sequences);
    }

    [Fact]
    public async Task confidential_content_shows_only_to_keys_that_may_read_memories()
    {
        var writer = await fx.NewTenantAsync("memory:write", "memory:read", "events:read");
        var watcher = await fx.NewKeyAsync(writer.Tenant, "events:read");
        var (id, sequence) = await fx.Client(writer.Key).RecordAsync(Api.Memory("Ned's diagnosis", classification: "confidential"));
        var (open, last) = await fx.Client(writer.Key).RecordAsync(Api.Memory("Ned likes jazz", classification: "internal"));

        string? ContentOf(JsonElement page, Guid stream) => page.GetProperty("events").EnumerateArray()
            .Single(e => e.GetProperty("streamId").GetGuid() == stream).GetProperty("data").GetProperty("content").GetString();
        var asWatcher = await fx.Client(watcher.Key).EventsAsync($"/events?types=memory.recorded.v1&minSequence={last}");
        var asWriter = await fx.Client(writer.Key).EventsAsync($"/events?types=memory.recorded.v1&minSequence={last}");

        Assert.Null(ContentOf(asWatcher, id));
        Assert.Equal("Ned likes jazz", ContentOf(asWatcher, open));
        Assert.Equal("Ned's diagnosis", ContentOf(asWriter, id));
        Assert.DoesNotContain("ciphertext", asWatcher.ToString());
        Assert.True(sequence < last);
    }

    [Fact]
    public async Task the_feed_needs_the_events_scope_and_valid_paging()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write");
        await (await fx.Client(key.Key).GetAsync("/events")).AssertProblem(HttpStatusCode.Forbidden);
        await (await fx.Client().GetAsync("/events")).AssertProblem(HttpStatusCode.Unauthorized);
        var reader = await fx.NewTenantAsync("events:read");
        await (await fx.Client(reader.Key).GetAsync("/events?limit=0")).AssertProblem(HttpStatusCode.BadRequest);
        await (await fx.Client(reader.Key).GetAsync("/events?after=-1")).AssertProblem(HttpStatusCode.BadRequest);
        await (await fx.Client(reader.Key).GetAsync("/events?limit=abc")).AssertProblem(HttpStatusCode.BadRequest);
        await (await fx.Client(reader.Key).GetAsync("/events?after=1e9")).AssertProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task the_live_stream_delivers_new_events_and_resumes_after_the_last_event_id_without_gaps_or_repeats()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write", "events:read");
        var client = fx.Client(key.Key);
        var (_, start) = await client.RecordAsync(Api.Memory("Oli starts the stream"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var seen = new List<(long Id, string Type)>();
        using (var stream = await OpenAsync(client, $"/events/stream?types=memory.recorded.v1&after={start}", null, timeout.Token))
        {
            var (first, _) = await client.RecordAsync(Api.Memory("Oli one"));
            seen.Add(await NextEventAsync(stream, timeout.Token));
            Assert.Equal(first, Guid.Parse(seen[0].Type.Split('|')[1]));
        }
        // Disconnected: two more memories are written meanwhile.
        var (second, _) = await client.RecordAsync(Api.Memory("Oli two"));
        var (third, _) = await client.RecordAsync(Api.Memory("Oli three"));
        using (var stream = await OpenAsync(client, "/events/stream?types=memory.recorded.v1", seen[^1].Id.ToString(), timeout.Token))
        {
            seen.Add(await NextEventAsync(stream, timeout.Token));
            seen.Add(await NextEventAsync(stream, timeout.Token));
        }

        Assert.Equal([second, third], seen.Skip(1).Select(s => Guid.Parse(s.Type.Split('|')[1])));
        Assert.Equal(seen.Select(s => s.Id).Order().Distinct(), seen.Select(s => s.Id));
    }

    /// <summary>
    /// Subscribers at the head of the log take their events from the window all of them share: each still gets
    /// only its own tenant's events, and confidential content only with memory:read.
    /// </summary>
    [Fact]
    public async Task live_subscribers_at_the_head_get_their_own_tenants_events_and_confidential_content_only_with_memory_read()
    {
        var writer = await fx.NewTenantAsync("memory:write", "memory:read", "events:read");
        var watcher = await fx.NewKeyAsync(writer.Tenant, "events:read");
        var stranger = await fx.NewTenantAsync("memory:write", "events:read");
        var (_, start) = await fx.Client(writer.Key).RecordAsync(Api.Memory("Pim opens the feed"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var url = $"/events/stream?types=memory.recorded.v1&after={start}";
        using var asWriter = await OpenAsync(fx.Client(writer.Key), url, null, timeout.Token);
        using var asWatcher = await OpenAsync(fx.Client(watcher.Key), url, null, timeout.Token);

        await fx.Client(stranger.Key).RecordAsync(Api.Memory("Someone else's memory"));
        var (secret, _) = await fx.Client(writer.Key).RecordAsync(Api.Memory("Pim's diagnosis", classification: "confidential"));
        var (open, _) = await fx.Client(writer.Key).RecordAsync(Api.Memory("Pim likes jazz", classification: "internal"));

        foreach (var (reader, confidential) in new[] { (asWriter, "Pim's diagnosis"), (asWatcher, (string?)null) })
        {
            var first = await NextDataAsync(reader, timeout.Token);
            var second = await NextDataAsync(reader, timeout.Token);
            Assert.Equal([secret, open], new[] { first, second }.Select(d => d.GetProperty("streamId").GetGuid()));
            Assert.Equal(confidential, first.GetProperty("data").GetProperty("content").GetString());
            Assert.Equal("Pim likes jazz", second.GetProperty("data").GetProperty("content").GetString());
        }
    }

    private static async Task<JsonElement> NextDataAsync(StreamReader reader, CancellationToken ct)
    {
        while (await reader.ReadLineAsync(ct) is { } line)
            if (line.StartsWith("data: ")) return JsonDocument.Parse(line[6..]).RootElement.Clone();
        throw new InvalidOperationException("the stream ended");
    }

    [Fact]
    public async Task an_event_whose_transaction_commits_late_is_delivered_in_order_not_skipped()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write", "events:read");
        var client = fx.Client(key.Key);
        var (late, after) = await WithLateCommitAsync(key, async late =>
        {
            // Later writes commit while it is open: the feed must not hand them out past the open one.
            var (_, after) = await client.RecordAsync(Api.Memory("Quinn writes after the open transaction"));
            Assert.True(after > late);
            var meanwhile = (await (await client.GetAsync($"/events?after={late - 1}")).Json()).GetProperty("events").EnumerateArray()
                .Select(e => e.GetProperty("sequence").GetInt64()).ToArray();
            Assert.DoesNotContain(after, meanwhile);
            return after;
        });

        var delivered = (await client.EventsAsync($"/events?after={late - 1}&minSequence={after}")).GetProperty("events").EnumerateArray()
            .Select(e => e.GetProperty("sequence").GetInt64()).ToArray();
        Assert.Equal(late, delivered[0]);
        Assert.Contains(after, delivered);
        Assert.Equal(delivered.Order(), delivered);
    }

    [Fact]
    public async Task the_live_stream_delivers_an_event_that_commits_late_before_the_later_ones()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write", "events:read");
        var client = fx.Client(key.Key);
        var (_, start) = await client.RecordAsync(Api.Memory("Rosa opens the feed"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var stream = await OpenAsync(client, $"/events/stream?after={start}", null, timeout.Token);

        var (late, after) = await WithLateCommitAsync(key, async late =>
            (await client.RecordAsync(Api.Memory("Rosa writes after the open transaction"))).Item2);

        var seen = new List<long>();
        while (!seen.Contains(after)) seen.Add((await NextEventAsync(stream, timeout.Token)).Id);
        Assert.Contains(late, seen);
        Assert.True(seen.IndexOf(late) < seen.IndexOf(after), string.Join(", ", seen));
        Assert.Equal(seen.Order(), seen);
    }

    /// <summary>
    /// Appends an event in a transaction held open while <paramref name="meanwhile"/> runs (its sequence is taken,
    /// its row not yet visible), then commits it: the late event's sequence and what meanwhile answered.
    /// </summary>
    private async Task<(long Late, long Meanwhile)> WithLateCommitAsync(TenantKey key, Func<long, Task<long>> meanwhile)
    {
        var streamId = Guid.NewGuid();
        await using var connection = fx.OpenDatabase();
        await using var transaction = await connection.BeginTransactionAsync();
        long late;
        await using (var take = new NpgsqlCommand("select nextval('aetherra.mt_events_sequence')", connection, transaction))
            late = (long)(await take.ExecuteScalarAsync())!;
        await using (var stream = new NpgsqlCommand("insert into aetherra.mt_streams (tenant_id, id, version) values ($1, $2, 1)", connection, transaction))
        {
            stream.Parameters.Add(new() { Value = key.Tenant });
            stream.Parameters.Add(new() { Value = streamId });
            await stream.ExecuteNonQueryAsync();
        }
        await using (var insert = new NpgsqlCommand("""
            insert into aetherra.mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type)
            values ($3, $4, $2, 1, $5::jsonb, 'audit.recorded.v1', now(), $1, 'Aetherra.Domain.Audit.AuditRecorded, Aetherra.Domain')
            """, connection, transaction))
        {
            insert.Parameters.Add(new() { Value = key.Tenant });
            insert.Parameters.Add(new() { Value = streamId });
            insert.Parameters.Add(new() { Value = late });
            insert.Parameters.Add(new() { Value = Guid.NewGuid() });
            insert.Parameters.Add(new() { Value = $$"""{"at":"2026-11-28T00:00:00+00:00","actor":"late","action":"test.late","reason":null,"status":200,"target":null,"tenant":"{{key.Tenant}}","outcome":"Accepted","requestId":"{{streamId}}"}""" });
            await insert.ExecuteNonQueryAsync();
        }
        var answered = await meanwhile(late);
        await transaction.CommitAsync();
        return (late, answered);
    }

    private static async Task<StreamReader> OpenAsync(HttpClient client, string url, string? lastEventId, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new StreamReader(await response.Content.ReadAsStreamAsync(ct));
    }

    /// <summary>Reads up to the next event; answers its id and "type|streamId".</summary>
    private static async Task<(long Id, string Type)> NextEventAsync(StreamReader reader, CancellationToken ct)
    {
        long? id = null;
        string? type = null, data = null;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("id: ")) id = long.Parse(line[4..]);
            else if (line.StartsWith("event: ")) type = line[7..];
            else if (line.StartsWith("data: ")) data = line[6..];
            else if (line.Length == 0 && id is not null)
                return (id.Value, $"{type}|{JsonDocument.Parse(data!).RootElement.GetProperty("streamId").GetGuid()}");
        }
        throw new InvalidOperationException("the stream ended");
    }
}

internal static class EventFeedTestSupport
{
    /// <summary>GET /events; a 503 "not yet consistent" (the high-water mark behind under the whole suite) is asked again.</summary>
    public static async Task<JsonElement> EventsAsync(this HttpClient client, string url)
    {
        var deadline = DateTimeOffset.UtcNow + RecallTestSupport.NotYetConsistentPatience;
        while (true)
        {
            var response = await client.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && DateTimeOffset.UtcNow < deadline) continue;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Json();
        }
    }
}

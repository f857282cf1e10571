namespace Aetherra.Integration.Tests;

public sealed class AuditTests(AetherraFixture fx)
{
    private sealed record Expected(HttpResponseMessage Response, string Action, string Outcome, int Status, Guid Actor, string? Target);

    private static async Task<List<JsonElement>> ReadAuditAsync(HttpClient client, string query = "")
    {
        var response = await client.GetAsync("/audit?limit=1000" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Json()).GetProperty("records").EnumerateArray().ToList();
    }

    [Fact]
    public async Task every_command_accepted_or_rejected_leaves_its_record()
    {
        var key = await fx.NewTenantAsync();
        var readOnly = await fx.NewKeyAsync(key.Tenant, "memory:read");
        var client = fx.Client(key.Key);
        var expected = new List<Expected>();

        var record = await client.PostAsJsonAsync("/memories", Api.Memory("Alice likes tea"));
        Assert.Equal(HttpStatusCode.Created, record.StatusCode);
        var id = (await record.Json()).GetProperty("id").GetGuid();
        expected.Add(new(record, "memory.record", "accepted", 201, key.KeyId, id.ToString()));

        var revise = await client.PutAsJsonAsync($"/memories/{id}", new { content = "Alice likes coffee", reason = "changed" });
        expected.Add(new(revise, "memory.revise", "accepted", 200, key.KeyId, id.ToString()));

        var conflict = await client.PutAsJsonAsync($"/memories/{id}", new { content = "Alice likes cocoa", reason = "x", expectedVersion = 1 });
        await conflict.AssertProblem(HttpStatusCode.Conflict);
        expected.Add(new(conflict, "memory.revise", "rejected", 409, key.KeyId, id.ToString()));

        var forget = await client.DeleteAsync($"/memories/{id}?reason=asked");
        expected.Add(new(forget, "memory.forget", "accepted", 200, key.KeyId, id.ToString()));

        var again = await client.DeleteAsync($"/memories/{id}");
        await again.AssertProblem(HttpStatusCode.UnprocessableEntity);
        expected.Add(new(again, "memory.forget", "rejected", 422, key.KeyId, id.ToString()));

        var invalid = await client.PostAsJsonAsync("/memories", Api.Memory(""));
        await invalid.AssertProblem(HttpStatusCode.BadRequest);
        expected.Add(new(invalid, "memory.record", "rejected", 400, key.KeyId, null));

        var forbidden = await fx.Client(readOnly.Key).PostAsJsonAsync("/memories", Api.Memory("Alice likes milk"));
        await forbidden.AssertProblem(HttpStatusCode.Forbidden);
        expected.Add(new(forbidden, "memory.record", "rejected", 403, readOnly.KeyId, null));

        var missing = Guid.NewGuid();
        var notFound = await client.DeleteAsync($"/memories/{missing}");
        await notFound.AssertProblem(HttpStatusCode.NotFound);
        expected.Add(new(notFound, "memory.forget", "rejected", 404, key.KeyId, missing.ToString()));

        Assert.All(expected.Where(e => e.Outcome == "accepted"), e => Assert.True(e.Response.IsSuccessStatusCode));
        var records = await ReadAuditAsync(client);

        Assert.Equal(expected.Count, records.Count);
        foreach (var e in expected)
        {
            var requestId = e.Response.RequestId();
            var r = Assert.Single(records, r => r.GetProperty("requestId").GetString() == requestId);
            Assert.Equal(e.Action, r.GetProperty("action").GetString());
            Assert.Equal(e.Outcome, r.GetProperty("outcome").GetString());
            Assert.Equal(e.Status, r.GetProperty("status").GetInt32());
            Assert.Equal(e.Actor.ToString(), r.GetProperty("actor").GetString());
            Assert.Equal(key.Tenant, r.GetProperty("tenant").GetString());
            Assert.Equal(e.Target, r.GetProperty("target").GetString());
            if (e.Outcome == "rejected") Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("reason").GetString()));
            else Assert.True(!r.TryGetProperty("reason", out var reason) || reason.ValueKind == JsonValueKind.Null);
        }
        var sequences = records.Select(r => r.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(sequences.Order(), sequences);
        var answered = expected.Where(e => e.Outcome == "accepted").Select(e => e.Response.RequestId()).ToList();
        Assert.Equal(answered, records.Where(r => r.GetProperty("outcome").GetString() == "accepted")
            .Select(r => r.GetProperty("requestId").GetString()));
    }

    [Fact]
    public async Task the_audit_record_of_a_recorded_memory_is_its_last_event()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);

        var response = await client.PostAsJsonAsync("/memories", Api.Memory("Alice likes tea"));

        var sequence = (await response.Json()).GetProperty("sequence").GetInt64();
        var record = Assert.Single(await ReadAuditAsync(client, $"&minSequence={sequence}"));
        Assert.Equal(sequence, record.GetProperty("sequence").GetInt64());
        Assert.Equal(response.RequestId(), record.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task the_audit_filters_by_actor_action_and_target()
    {
        var key = await fx.NewTenantAsync();
        var other = await fx.NewKeyAsync(key.Tenant, "memory:write");
        var client = fx.Client(key.Key);
        var (first, _) = await client.RecordAsync(Api.Memory("Alice likes tea"));
        var (second, _) = await fx.Client(other.Key).RecordAsync(Api.Memory("Alice likes jazz"));
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync($"/memories/{first}", new { content = "Alice likes coffee", reason = "r" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/memories/{second}")).StatusCode);

        var byActor = await ReadAuditAsync(client, $"&actor={other.KeyId}");
        Assert.Equal(["memory.record"], byActor.Select(r => r.GetProperty("action").GetString()));
        Assert.Equal(second.ToString(), byActor[0].GetProperty("target").GetString());

        var byAction = await ReadAuditAsync(client, "&action=memory.record");
        Assert.Equal([first.ToString(), second.ToString()], byAction.Select(r => r.GetProperty("target").GetString()));

        var byTarget = await ReadAuditAsync(client, $"&stream={first}");
        Assert.Equal(["memory.record", "memory.revise"], byTarget.Select(r => r.GetProperty("action").GetString()));

        var combined = await ReadAuditAsync(client, $"&stream={second}&action=memory.forget&actor={key.KeyId}");
        Assert.Single(combined);
        Assert.Empty(await ReadAuditAsync(client, $"&stream={second}&action=memory.forget&actor={other.KeyId}"));
    }

    [Fact]
    public async Task the_audit_filters_by_time_with_inclusive_bounds()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        for (var i = 0; i < 5; i++) await client.RecordAsync(Api.Memory($"Alice fact {i}"));
        var all = await ReadAuditAsync(client);
        Assert.Equal(5, all.Count);
        var at = all.Select(r => r.GetProperty("at").GetDateTimeOffset()).ToList();

        string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("O"));
        var window = await ReadAuditAsync(client, $"&from={Iso(at[1])}&to={Iso(at[3])}");
        Assert.Equal(all.Where((_, i) => at[i] >= at[1] && at[i] <= at[3]).Select(r => r.GetProperty("sequence").GetInt64()),
            window.Select(r => r.GetProperty("sequence").GetInt64()));
        Assert.Contains(window, r => r.GetProperty("sequence").GetInt64() == all[1].GetProperty("sequence").GetInt64());
        Assert.Contains(window, r => r.GetProperty("sequence").GetInt64() == all[3].GetProperty("sequence").GetInt64());

        Assert.Empty(await ReadAuditAsync(client, $"&from={Iso(at[4].AddSeconds(1))}"));
        Assert.Empty(await ReadAuditAsync(client, $"&to={Iso(at[0].AddSeconds(-1))}"));
        var reversed = await client.GetAsync($"/audit?from={Iso(at[3])}&to={Iso(at[1].AddSeconds(-1))}");
        await reversed.AssertProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task paging_with_the_next_cursor_walks_every_record_once_in_order()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        for (var i = 0; i < 7; i++) await client.RecordAsync(Api.Memory($"Alice fact {i}"));
        var all = (await ReadAuditAsync(client)).Select(r => r.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(7, all.Count);

        var walked = new List<long>();
        long? after = null;
        for (var page = 0; page < 10; page++)
        {
            var body = await (await client.GetAsync($"/audit?limit=3{(after is null ? "" : $"&after={after}")}")).Json();
            var records = body.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("sequence").GetInt64()).ToList();
            Assert.True(records.Count <= 3);
            walked.AddRange(records);
            if (body.GetProperty("next").ValueKind == JsonValueKind.Null) break;
            after = body.GetProperty("next").GetInt64();
            Assert.Equal(records[^1], after);
        }

        Assert.Equal(all, walked);
        Assert.Equal(walked.Order().Distinct(), walked);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("after=-1", "after")]
    public async Task an_out_of_range_audit_query_is_400(string query, string field)
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).GetAsync($"/audit?{query}");

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    /// <summary>Issue 13: a body of the wrong media type was refused by routing's own 415 endpoint and left no record.</summary>
    [Fact]
    public async Task a_415_for_a_body_of_the_wrong_media_type_is_audited_as_the_commands_refusal()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var id = Guid.NewGuid();

        var record = await client.PostAsync("/memories", new StringContent("Alice likes tea", System.Text.Encoding.UTF8, "text/plain"));
        var revise = await client.PutAsync($"/memories/{id}", new StringContent("<x/>", System.Text.Encoding.UTF8, "application/xml"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, record.StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, revise.StatusCode);
        var recorded = Assert.Single(await client.AuditAsync("memory.record"));
        Assert.Equal(415, recorded.GetProperty("status").GetInt32());
        Assert.Equal("rejected", recorded.GetProperty("outcome").GetString());
        var revised = Assert.Single(await client.AuditAsync("memory.revise"));
        Assert.Equal(415, revised.GetProperty("status").GetInt32());
        Assert.Equal(id.ToString(), revised.GetProperty("target").GetString());
    }
}

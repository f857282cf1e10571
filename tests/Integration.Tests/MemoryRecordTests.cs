namespace Aetherra.Integration.Tests;

public sealed class MemoryRecordTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_memory_recorded_without_importance_or_classification_gets_the_defaults()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);

        var (id, _) = await client.RecordAsync(new { content = "Carol likes hiking", subject = "carol", agent = "assistant", kind = "fact" });

        var read = await client.ReadMemoryAsync(id);
        Assert.Equal(0.5, read.GetProperty("importance").GetDouble());
        Assert.Equal("internal", read.GetProperty("classification").GetString());
        Assert.Equal("active", read.GetProperty("status").GetString());
        Assert.Equal(1, read.GetProperty("version").GetInt32());
        Assert.Empty(read.GetProperty("tags").EnumerateArray());
    }

    [Fact]
    public async Task every_optional_field_given_is_stored_and_read_back()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var occurredAt = new DateTimeOffset(2024, 3, 1, 12, 30, 0, TimeSpan.Zero);
        var expiresAt = new DateTimeOffset(2999, 1, 1, 0, 0, 0, TimeSpan.Zero);

        var (id, _) = await client.RecordAsync(new
        {
            content = "Dave's salary is confidential", subject = "dave", agent = "hr-bot", session = "s-42", kind = "instruction",
            tags = new[] { "hr", "pay" }, importance = 0.9, classification = "confidential", occurredAt, expiresAt,
            source = "payroll import"
        });

        var read = await client.ReadMemoryAsync(id);
        Assert.Equal(id, read.GetProperty("id").GetGuid());
        Assert.Equal("Dave's salary is confidential", read.GetProperty("content").GetString());
        Assert.Equal("dave", read.GetProperty("subject").GetString());
        Assert.Equal("hr-bot", read.GetProperty("agent").GetString());
        Assert.Equal("s-42", read.GetProperty("session").GetString());
        Assert.Equal("instruction", read.GetProperty("kind").GetString());
        Assert.Equal(["hr", "pay"], read.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.Equal(0.9, read.GetProperty("importance").GetDouble());
        Assert.Equal("confidential", read.GetProperty("classification").GetString());
        Assert.Equal(occurredAt, read.GetProperty("occurredAt").GetDateTimeOffset());
        Assert.Equal(expiresAt, read.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal("payroll import", read.GetProperty("source").GetString());
        Assert.Equal("active", read.GetProperty("status").GetString());
    }

    [Fact]
    public async Task a_memory_without_occurred_at_occurred_when_it_was_recorded()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var (id, _) = await client.RecordAsync(Api.Memory("Erin works nights"));

        var read = await client.ReadMemoryAsync(id);
        var recordedAt = read.GetProperty("recordedAt").GetDateTimeOffset();
        Assert.InRange(recordedAt, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(recordedAt, read.GetProperty("occurredAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task a_new_memory_answers_201_with_the_location_of_the_memory()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);

        var response = await client.PostAsJsonAsync("/memories", Api.Memory("Frank drives a blue car"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Json()).GetProperty("id").GetGuid();
        Assert.Equal($"/memories/{id}", response.Headers.Location?.OriginalString);
        var read = await client.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("Frank drives a blue car", (await read.Json()).GetProperty("content").GetString());
    }

    [Fact]
    public async Task content_differing_only_in_whitespace_is_the_same_memory_for_the_same_subject_and_agent()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var first = await (await client.PostAsJsonAsync("/memories", Api.Memory("Gina  speaks\tItalian"))).Json();

        var again = await client.PostAsJsonAsync("/memories", Api.Memory("  Gina speaks\nItalian "));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Null(again.Headers.Location);
        var body = await again.Json();
        Assert.Equal(first.GetProperty("id").GetGuid(), body.GetProperty("id").GetGuid());
        Assert.True(body.GetProperty("deduplicated").GetBoolean());
        Assert.Equal(first.GetProperty("contentHash").GetString(), body.GetProperty("contentHash").GetString());
        Assert.Equal(1, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task a_repeat_of_a_reinforced_memory_answers_its_current_version()
    {
        // The dedup query reads each known memory's id and version (plain SQL on the write's connection, or Marten's
        // LINQ with AETHERRA_DEDUP_QUERY=linq): a repeat answers the version the memory has now, not 1.
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Hugo waters the ferns on Sundays"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync($"/memories/{id}/reinforce", new { weight = 1 })).StatusCode);

        var again = await client.PostAsJsonAsync("/memories", Api.Memory("Hugo waters the ferns on Sundays"));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var body = await again.Json();
        Assert.True(body.GetProperty("deduplicated").GetBoolean());
        Assert.Equal(id, body.GetProperty("id").GetGuid());
        Assert.Equal(2, body.GetProperty("version").GetInt32());
    }

    [Theory]
    [InlineData("assistant", "planner", "ivan", "ivan")]
    [InlineData("assistant", "assistant", "ivan", "judy")]
    public async Task the_same_content_from_another_agent_or_about_another_subject_is_a_new_memory(
        string firstAgent, string secondAgent, string firstSubject, string secondSubject)
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (first, _) = await client.RecordAsync(Api.Memory("likes jazz", subject: firstSubject, agent: firstAgent));

        var other = await client.PostAsJsonAsync("/memories", Api.Memory("likes jazz", subject: secondSubject, agent: secondAgent));

        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        var body = await other.Json();
        Assert.NotEqual(first, body.GetProperty("id").GetGuid());
        Assert.False(body.GetProperty("deduplicated").GetBoolean());
        Assert.Equal(2, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task ten_parallel_identical_records_end_with_one_memory_and_one_recorded_event()
    {
        var key = await fx.NewTenantAsync();

        var answers = await fx.InParallelAsync(key.Key, 10,
            (client, _) => client.PostAsJsonAsync("/memories", Api.Memory("Kim's birthday is on May 3rd")));

        var bodies = new List<JsonElement>();
        foreach (var answer in answers)
        {
            Assert.True(answer.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK,
                $"{(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
            bodies.Add(await answer.Json());
        }
        Assert.Single(bodies.Select(b => b.GetProperty("id").GetGuid()).Distinct());
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.Equal(9, bodies.Count(b => b.GetProperty("deduplicated").GetBoolean()));
        Assert.Equal(1, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task content_at_the_length_limit_is_accepted()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var content = new string('x', 16_383) + "y";

        var (id, _) = await client.RecordAsync(Api.Memory(content));

        Assert.Equal(content, (await client.ReadMemoryAsync(id)).GetProperty("content").GetString());
    }

    [Fact]
    public async Task a_memory_of_another_tenant_is_not_found()
    {
        var owner = await fx.NewTenantAsync();
        var stranger = await fx.NewTenantAsync();
        var (id, _) = await fx.Client(owner.Key).RecordAsync(Api.Memory("Leo's PIN hint"));
        var client = fx.Client(stranger.Key);

        await (await client.GetAsync($"/memories/{id}")).AssertProblem(HttpStatusCode.NotFound);
        await (await client.GetAsync($"/memories/{id}/history")).AssertProblem(HttpStatusCode.NotFound);
        await (await client.ReviseAsync(id, "hijacked")).AssertProblem(HttpStatusCode.NotFound);
        await (await client.ReviseAsync(id, "hijacked", expectedVersion: 1)).AssertProblem(HttpStatusCode.NotFound);
        await (await client.DeleteAsync($"/memories/{id}?reason=x")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(1, await fx.CountStreamEventsAsync(id));
    }

    [Fact]
    public async Task the_same_content_in_another_tenant_is_not_deduplicated_against()
    {
        var first = await fx.NewTenantAsync();
        var second = await fx.NewTenantAsync();
        var (id, _) = await fx.Client(first.Key).RecordAsync(Api.Memory("Mia is left-handed"));

        var other = await fx.Client(second.Key).PostAsJsonAsync("/memories", Api.Memory("Mia is left-handed"));

        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        Assert.NotEqual(id, (await other.Json()).GetProperty("id").GetGuid());
    }
}

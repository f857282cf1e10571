namespace Aetherra.Integration.Tests;

public sealed class MemoryReviseTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_revision_at_the_expected_version_answers_version_2_and_reads_back_revised()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, recordedAt) = await client.RecordAsync(Api.Memory("Uma lives in Lyon"));

        var response = await client.ReviseAsync(id, "Uma lives in Lisbon", "she moved", expectedVersion: 1);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(id, body.GetProperty("id").GetGuid());
        Assert.Equal(2, body.GetProperty("version").GetInt64());
        var sequence = body.GetProperty("sequence").GetInt64();
        Assert.True(sequence > recordedAt);
        var read = await (await client.GetAsync($"/memories/{id}?minSequence={sequence}")).Json();
        Assert.Equal("Uma lives in Lisbon", read.GetProperty("content").GetString());
        Assert.Equal(2, read.GetProperty("version").GetInt32());
        Assert.Equal("active", read.GetProperty("status").GetString());
    }

    [Fact]
    public async Task the_history_of_a_revised_memory_lists_both_events_by_the_key_that_wrote_them()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Vic's desk is 4B"));
        Assert.Equal(HttpStatusCode.OK, (await client.ReviseAsync(id, "Vic's desk is 5C", expectedVersion: 1)).StatusCode);

        var history = (await (await client.GetAsync($"/memories/{id}/history")).Json()).EnumerateArray().ToArray();

        Assert.Equal([MemoryTestSupport.Recorded, MemoryTestSupport.Revised], history.Select(h => h.GetProperty("type").GetString()!).ToArray());
        Assert.Equal([1L, 2L], history.Select(h => h.GetProperty("version").GetInt64()).ToArray());
        Assert.All(history, h => Assert.Equal(key.KeyId.ToString(), h.GetProperty("actor").GetString()));
        Assert.True(history[0].GetProperty("at").GetDateTimeOffset() <= history[1].GetProperty("at").GetDateTimeOffset());
    }

    [Fact]
    public async Task a_revision_at_a_stale_version_is_a_conflict_naming_the_current_version()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Walt owns two dogs"));
        Assert.Equal(HttpStatusCode.OK, (await client.ReviseAsync(id, "Walt owns three dogs", expectedVersion: 1)).StatusCode);

        var response = await client.ReviseAsync(id, "Walt owns four dogs", expectedVersion: 1);

        var problem = await response.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal(2, problem.GetProperty("currentVersion").GetInt64());
        Assert.Equal("Walt owns three dogs", (await client.ReadMemoryAsync(id)).GetProperty("content").GetString());
    }

    [Fact]
    public async Task a_revision_ahead_of_the_current_version_is_a_conflict()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Xena speaks Greek"));

        var response = await client.ReviseAsync(id, "Xena speaks Greek and Latin", expectedVersion: 5);

        var problem = await response.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal(1, problem.GetProperty("currentVersion").GetInt64());
        Assert.Equal(1, await fx.CountStreamEventsAsync(id));
    }

    [Theory]
    [InlineData("Yusuf drinks coffee")]
    [InlineData("  Yusuf   drinks coffee ")]
    public async Task a_revision_that_does_not_change_the_content_is_refused(string same)
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Yusuf drinks coffee"));

        var response = await client.ReviseAsync(id, same);

        await response.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(1, await fx.CountStreamEventsAsync(id));
    }

    [Fact]
    public async Task revising_to_the_content_of_another_active_memory_of_the_same_subject_and_agent_is_refused()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        await client.RecordAsync(Api.Memory("Zoe likes tea"));
        var (id, _) = await client.RecordAsync(Api.Memory("Zoe likes coffee"));

        var response = await client.ReviseAsync(id, "Zoe likes tea");

        await response.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("Zoe likes coffee", (await client.ReadMemoryAsync(id)).GetProperty("content").GetString());
    }

    [Fact]
    public async Task revising_a_forgotten_memory_is_refused()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Abe's locker code"));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/memories/{id}?reason=obsolete")).StatusCode);

        var response = await client.ReviseAsync(id, "Abe's new locker code");

        await response.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Revised));
    }

    [Fact]
    public async Task a_memory_whose_expiry_has_passed_reads_as_expired_and_cannot_be_revised()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var now = DateTimeOffset.UtcNow;
        var (id, _) = await client.RecordAsync(new
        {
            content = "Bea's parking permit", subject = "bea", agent = "assistant", kind = "fact",
            occurredAt = now.AddDays(-2), expiresAt = now.AddDays(-1)
        });

        Assert.Equal("expired", (await client.ReadMemoryAsync(id)).GetProperty("status").GetString());
        var response = await client.ReviseAsync(id, "Bea's renewed parking permit");

        await response.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(1, await fx.CountStreamEventsAsync(id));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task a_revision_without_a_reason_is_refused(string? reason)
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Cy has a sister"));

        var response = await client.ReviseAsync(id, "Cy has two sisters", reason);

        await response.AssertValidationErrorAsync("reason");
        Assert.Equal(1, await fx.CountStreamEventsAsync(id));
    }

    [Fact]
    public async Task a_revision_without_content_is_refused()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Dee knits"));

        var response = await client.PutAsJsonAsync($"/memories/{id}", new { reason = "oops" });

        await response.AssertValidationErrorAsync("content");
    }

    [Fact]
    public async Task revising_an_unknown_memory_is_not_found()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).ReviseAsync(Guid.NewGuid(), "anything", expectedVersion: 1);

        await response.AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task of_twenty_concurrent_revisions_at_version_1_exactly_one_wins()
    {
        var key = await fx.NewTenantAsync();
        var (id, _) = await fx.Client(key.Key).RecordAsync(Api.Memory("Eli's office is on floor 1"));

        var answers = await fx.InParallelAsync(key.Key, 20,
            (client, i) => client.ReviseAsync(id, $"Eli's office is on floor {i + 2}", expectedVersion: 1));

        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK);
        var losers = answers.Where(a => a.StatusCode != HttpStatusCode.OK).ToArray();
        Assert.Equal(19, losers.Length);
        foreach (var loser in losers)
            Assert.Equal(2, (await loser.AssertProblem(HttpStatusCode.Conflict)).GetProperty("currentVersion").GetInt64());
        Assert.Equal(2, await fx.CountStreamEventsAsync(id));
    }

    [Fact]
    public async Task concurrent_revisions_without_an_expected_version_never_overwrite_each_other_silently()
    {
        var key = await fx.NewTenantAsync();
        var (id, _) = await fx.Client(key.Key).RecordAsync(Api.Memory("Fay's team is blue"));

        var answers = await fx.InParallelAsync(key.Key, 20, (client, i) => client.ReviseAsync(id, $"Fay's team is number {i}"));

        foreach (var answer in answers)
            Assert.True(answer.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict,
                $"{(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
        var versions = new List<long>();
        foreach (var answer in answers.Where(a => a.StatusCode == HttpStatusCode.OK))
            versions.Add((await answer.Json()).GetProperty("version").GetInt64());
        Assert.NotEmpty(versions);
        Assert.Equal(versions.Count, versions.Distinct().Count());
        Assert.Equal(versions.Count, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Revised));
        Assert.Equal(versions.Max(), (await fx.Client(key.Key).ReadMemoryAsync(id)).GetProperty("version").GetInt32());
    }
}

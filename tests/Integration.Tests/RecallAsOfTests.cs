namespace Aetherra.Integration.Tests;

public sealed class RecallAsOfTests(AetherraFixture fx)
{
    [Fact]
    public async Task recall_as_of_an_instant_answers_with_the_content_known_then()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Rosa's favourite cafe is Luna on Elm Street", subject: "rosa"));
        await client.ReviseAsync(id, "Rosa's favourite cafe is Sol on Oak Street").SequenceOf();
        var (untouched, _) = await client.RecordAsync(Api.Memory("Rosa's favourite bakery is on Elm Street", subject: "rosa"));
        var sequence = await client.DeleteAsync($"/memories/{id}").SequenceOf();
        var at = await client.HistoryInstantsAsync(id);
        Assert.Equal(3, at.Length);
        var (recorded, revised, forgotten) = (at[0], at[1], at[2]);

        async Task<JsonElement[]> AsOf(DateTimeOffset instant) =>
            (await client.RecallAsync(new { query = "Rosa's favourite cafe", subject = "rosa", asOf = instant, minSequence = sequence }))
            .Where(r => r.GetProperty("id").GetGuid() == id).ToArray();

        var original = Assert.Single(await AsOf(RecallTestSupport.Between(recorded, revised)));
        Assert.Equal("Rosa's favourite cafe is Luna on Elm Street", original.GetProperty("content").GetString());
        Assert.Equal(1, original.GetProperty("version").GetInt32());
        var atRecording = Assert.Single(await AsOf(recorded));
        Assert.Equal(1, atRecording.GetProperty("version").GetInt32());

        var revision = Assert.Single(await AsOf(RecallTestSupport.Between(revised, forgotten)));
        Assert.Equal("Rosa's favourite cafe is Sol on Oak Street", revision.GetProperty("content").GetString());
        Assert.Equal(2, revision.GetProperty("version").GetInt32());

        Assert.Empty(await AsOf(forgotten));
        Assert.Empty(await AsOf(forgotten.AddSeconds(1)));
        Assert.Empty(await AsOf(recorded.AddTicks(-10)));
        Assert.Empty(await AsOf(recorded.AddDays(-1)));
        var now = await client.RecallAsync(new { query = "Rosa's favourite cafe", subject = "rosa", minSequence = sequence });
        Assert.Equal([untouched], now.Ids());
    }

    [Fact]
    public async Task an_expired_memory_is_not_recalled()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var now = DateTimeOffset.UtcNow;
        var (expired, _) = await client.RecordAsync(new
        {
            content = "Sami's hotel room is 512", subject = "sami", agent = "assistant", kind = "fact",
            occurredAt = now.AddDays(-10), expiresAt = now.AddDays(-5),
        });
        var (current, sequence) = await client.RecordAsync(new
        {
            content = "Sami's hotel room is 207", subject = "sami", agent = "assistant", kind = "fact",
            occurredAt = now.AddDays(-1),
        });

        var results = await client.RecallAsync(new { query = "Sami's hotel room", subject = "sami", minSequence = sequence });

        Assert.Equal([current], results.Ids());
        Assert.Equal("expired", (await client.ReadMemoryAsync(expired)).GetProperty("status").GetString());
    }

    /// <summary>
    /// asOf answers with what was known at an instant, so a memory is recalled as of an instant after it was
    /// recorded and before it expires, and not as of an instant after its expiry: both instants are taken
    /// after the recording, which is what lets this run without waiting for a clock.
    /// </summary>
    [Fact]
    public async Task recall_as_of_an_instant_before_a_memorys_expiry_finds_it_and_after_its_expiry_does_not()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var expiresAt = DateTimeOffset.UtcNow.AddHours(1);
        var (id, sequence) = await client.RecordAsync(new
        {
            content = "Tove's parking permit is valid for level 3", subject = "tove", agent = "assistant", kind = "fact",
            occurredAt = DateTimeOffset.UtcNow.AddDays(-1), expiresAt,
        });
        var recorded = (await client.HistoryInstantsAsync(id))[0];

        async Task<Guid[]> AsOf(DateTimeOffset instant) =>
            (await client.RecallAsync(new { query = "Tove's parking permit", subject = "tove", asOf = instant, minSequence = sequence })).Ids();

        Assert.Equal([id], await AsOf(RecallTestSupport.Between(recorded, expiresAt)));
        Assert.Equal([id], await AsOf(expiresAt.AddTicks(-10)));
        Assert.Empty(await AsOf(expiresAt));
        Assert.Empty(await AsOf(expiresAt.AddMinutes(1)));
        // Before it was recorded it was not known, expiry or not.
        Assert.Empty(await AsOf(recorded.AddMinutes(-1)));
    }
}

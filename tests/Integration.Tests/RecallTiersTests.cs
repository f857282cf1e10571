namespace Aetherra.Integration.Tests;

/// <summary>Compaction tiers: old, never-recalled memories move to the archive as events, and come back when reinforced.</summary>
public sealed class RecallTiersTests(AetherraFixture fx)
{
    private static object Old(string content, string subject, string[]? tags = null, int daysAgo = 400) => new
    {
        content, subject, agent = "assistant", kind = "fact", tags = tags ?? [],
        occurredAt = DateTimeOffset.UtcNow.AddDays(-daysAgo),
    };

    [Fact]
    public async Task old_memories_never_recalled_move_to_the_archive_are_found_with_tiers_archive_and_come_back_when_reinforced()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (ids, recorded) = await client.RecordBatchAsync([
            Old("Quinn once owned a red bicycle", "quinn"),
            Old("Quinn once owned a blue canoe", "quinn", ["kept"]),
            Old("Quinn owns a green scooter", "quinn", daysAgo: 10),
            Old("Rory once owned a red bicycle", "rory"),
        ]);
        var (bicycle, canoe, scooter, rorys) = (ids[0], ids[1], ids[2], ids[3]);
        // The canoe is recalled (the tag filter keeps the bicycle out of that recall's results).
        Assert.Equal([canoe], (await client.RecallAsync(new { query = "what did Quinn own", subject = "quinn", tags = new[] { "kept" }, minSequence = recorded })).Ids());

        var response = await client.PostAsJsonAsync("/memories/archive", new { subject = "quinn", olderThanDays = 365 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var run = await response.Json();
        Assert.Equal(1, run.GetProperty("archived").GetInt32());
        var sequence = run.GetProperty("sequence").GetInt64();

        // Default recall leaves the archived memory out; tiers ["archive"] brings it back in.
        var live = await client.RecallAsync(new { query = "Quinn red bicycle", subject = "quinn", minSequence = sequence });
        Assert.DoesNotContain(bicycle, live.Ids());
        Assert.Contains(scooter, live.Ids());
        var withArchive = await client.RecallAsync(new { query = "Quinn red bicycle", subject = "quinn", tiers = new[] { "archive" }, minSequence = sequence });
        Assert.Equal(bicycle, withArchive.Ids()[0]);
        // The other subject was not touched, and nothing was deleted.
        Assert.Contains(rorys, (await client.RecallAsync(new { query = "red bicycle", subject = "rory", minSequence = sequence })).Ids());
        var read = await client.GetFromJsonAsync<JsonElement>($"/memories/{bicycle}");
        Assert.Equal("Quinn once owned a red bicycle", read.GetProperty("content").GetString());

        // A second run finds nothing more to move (the archived one is already there, the canoe was recalled).
        var again = await (await client.PostAsJsonAsync("/memories/archive", new { subject = "quinn", olderThanDays = 365 })).Json();
        Assert.Equal(0, again.GetProperty("archived").GetInt32());

        // Reinforcing restores it to default recall.
        var reinforced = await (await client.PostAsJsonAsync($"/memories/{bicycle}/reinforce", new { weight = 1.0, reason = "needed again" })).Json();
        var restored = await client.RecallAsync(new { query = "Quinn red bicycle", subject = "quinn", minSequence = reinforced.GetProperty("sequence").GetInt64() });
        Assert.Equal(bicycle, restored.Ids()[0]);

        // The policy run and the move are events; the run is audited.
        var audit = await client.AuditAsync("memory.archive");
        Assert.Equal(2, audit.Length);
    }

    [Fact]
    public async Task bad_tiers_and_policies_are_refused()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        await (await client.PostAsJsonAsync("/recall", new { query = "x", tiers = new[] { "cold" } })).AssertProblem(HttpStatusCode.BadRequest);
        await (await client.PostAsJsonAsync("/memories/archive", new { olderThanDays = 0 })).AssertProblem(HttpStatusCode.BadRequest);
        await (await client.PostAsJsonAsync("/memories/archive", new { subject = "a\u0000b" })).AssertProblem(HttpStatusCode.BadRequest);
    }
}

using System.Text.RegularExpressions;
using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Conversations;

/// <summary>What extraction leaves behind, read back over HTTP once the queue has done its work.</summary>
public static class Extracted
{
    /// <summary>Asks recall (polling, within the suite's patience) until the subject has a memory with exactly this content.</summary>
    public static async Task<JsonElement> MemoryAsync(HttpClient client, string query, string subject, string content)
    {
        var deadline = DateTimeOffset.UtcNow + RecallTestSupport.NotYetConsistentPatience;
        while (true)
        {
            var hit = (await client.RecallAsync(new { query, subject, limit = 50 })).FirstOrDefault(r => r.Str("content") == content);
            if (hit.ValueKind == JsonValueKind.Object) return hit;
            Assert.True(DateTimeOffset.UtcNow < deadline, $"no memory '{content}' was extracted");
            await Task.Delay(100);
        }
    }
}

/// <summary>
/// Extraction with a provider: the fake OpenAI-compatible server answers each extraction request as a model would,
/// keyed by a marker in the user's turn (never in a memory's content), and naming the known memory a new fact
/// replaces by the number the request gave it.
/// </summary>
public sealed class ExtractionTests : IClassFixture<ProviderServer>, IAsyncLifetime
{
    private readonly ProviderServer s;

    public ExtractionTests(ProviderServer server)
    {
        s = server;
        s.Model.Extract = Answer;
    }

    public async ValueTask InitializeAsync() => await s.UseAsync(s.Provider("good", "ok"));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static string Answer(string request)
    {
        static string Memories(params object[] memories) => JsonSerializer.Serialize(new { memories });
        if (request.Contains("Note-P1")) return Memories(new { content = "Alice is allergic to peanuts", kind = "fact", importance = 0.9, replaces = (int?)null });
        if (request.Contains("Note-B2"))
        {
            var known = Regex.Match(request, @"\[(\d+)\] Alice lives in Paris");
            return Memories(new { content = "Alice lives in Berlin", kind = "fact", importance = 0.7, replaces = known.Success ? int.Parse(known.Groups[1].Value) : (int?)null });
        }
        if (request.Contains("Note-J3")) return Memories(new { content = "Alice likes jazz", kind = "preference", importance = 0.5, replaces = (int?)null });
        if (request.Contains("Note-J4"))
            return Memories(new { content = "Alice likes jazz", kind = "preference", importance = 0.5, replaces = (int?)null },
                new { content = "Alice plays the cello", kind = "fact", importance = 0.5, replaces = (int?)null });
        if (request.Contains("Note-F6")) return Memories(new { content = "Frank keeps bees", kind = "fact", importance = 0.6, replaces = (int?)null });
        if (request.Contains("Note-T5")) return Memories(new { content = "Alice grows tulips", kind = "fact", importance = 0.5, replaces = (int?)null });
        return Memories();
    }

    private async Task<HttpClient> TenantAsync() => s.Client(await s.Server.NewKeyAsync("test", "t-" + Guid.NewGuid().ToString("N")[..12],
        [.. ConversationSupport.AllScopes, "events:read"], CancellationToken.None));

    [Fact]
    public async Task a_user_turn_becomes_a_memory_whose_source_names_the_conversation_and_turn()
    {
        var client = await TenantAsync();
        var id = await client.StartConversationAsync(subject: "alice", agent: "helper");

        var turn = await client.AddTurnAsync(id, "user", "Note-P1: I am allergic to peanuts, please remember that");

        var hit = await Extracted.MemoryAsync(client, "peanuts", "alice", "Alice is allergic to peanuts");
        var memory = await client.GetOkAsync($"/memories/{hit.GetProperty("id").GetGuid()}");
        Assert.Equal($"conversation:{id}/turn:{turn}", memory.Str("source"));
        Assert.Equal(("fact", "alice", "helper"), (memory.Str("kind"), memory.Str("subject"), memory.Str("agent")));
        // One structured call for the turn, asking for the answer's JSON schema.
        Assert.Contains("json_schema", Assert.Single(s.Model.Extractions, r => r.Contains("Note-P1")));
        Assert.Equal("accepted", Assert.Single(await client.AuditAsync("conversation.extract")).Str("outcome"));
    }

    [Fact]
    public async Task a_subject_forgotten_while_its_turn_is_extracted_gets_no_memory_and_no_new_key_from_it()
    {
        var client = await TenantAsync();
        var id = await client.StartConversationAsync(subject: "frank", agent: "helper");
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The model's answer is held until the test has forgotten the subject: extraction has read and opened the turn
        // by then, and writes what the model answers afterwards.
        s.Model.Hold = async request =>
        {
            if (!request.Contains("Note-F6")) return;
            asked.TrySetResult();
            await release.Task;
        };
        try
        {
            await client.AddTurnAsync(id, "user", "Note-F6: I keep bees, please remember that");
            await asked.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var forget = await client.DeleteAsync("/subjects/frank");
            Assert.Equal(HttpStatusCode.OK, forget.StatusCode);
            release.SetResult();

            var deadline = DateTimeOffset.UtcNow + RecallTestSupport.NotYetConsistentPatience;
            JsonElement refused;
            while ((refused = (await client.AuditAsync("conversation.extract")).FirstOrDefault(a => a.GetProperty("status").GetInt32() == 410))
                   .ValueKind != JsonValueKind.Object)
            {
                Assert.True(DateTimeOffset.UtcNow < deadline, "extraction never ended");
                await Task.Delay(100);
            }
            Assert.Equal("rejected", refused.Str("outcome"));
            Assert.Equal($"conversation:{id}/turn:1", refused.Str("target"));
            // Nothing was written and no key minted: forgetting the subject again finds neither a key nor a memory.
            Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/subjects/frank")).StatusCode);
            Assert.DoesNotContain(await client.AuditAsync("conversation.extract"), a => a.Str("outcome") == "accepted");
        }
        finally
        {
            s.Model.Hold = null;
            release.TrySetResult();
        }
    }

    [Fact]
    public async Task a_fact_that_contradicts_a_known_memory_revises_it_with_the_turn_as_reason()
    {
        var client = await TenantAsync();
        var (paris, sequence) = await client.RecordAsync(Api.Memory("Alice lives in Paris", subject: "alice"));
        await client.RecallAsync(new { query = "Paris", subject = "alice", minSequence = sequence });
        var id = await client.StartConversationAsync(subject: "alice");

        var turn = await client.AddTurnAsync(id, "user", "Note-B2: I moved to Berlin last month");

        var hit = await Extracted.MemoryAsync(client, "Berlin", "alice", "Alice lives in Berlin");
        Assert.Equal(paris, hit.GetProperty("id").GetGuid());
        var memory = await client.GetOkAsync($"/memories/{paris}");
        Assert.Equal((2, "active"), (memory.GetProperty("version").GetInt32(), memory.Str("status")));
        Assert.DoesNotContain(await client.RecallAsync(new { query = "Paris lives", subject = "alice" }), r => r.Str("content").Contains("Paris"));
        var revised = (await client.GetOkAsync("/events?types=memory.revised.v1&limit=1000")).GetProperty("events").EnumerateArray()
            .Single(e => e.GetProperty("streamId").GetGuid() == paris);
        Assert.Equal($"superseded by conversation:{id}/turn:{turn}", revised.GetProperty("data").Str("reason"));
    }

    [Fact]
    public async Task the_same_fact_extracted_twice_is_one_memory()
    {
        var client = await TenantAsync();
        var id = await client.StartConversationAsync(subject: "alice");
        await client.AddTurnAsync(id, "user", "Note-J3: jazz is my thing");
        var first = await Extracted.MemoryAsync(client, "jazz", "alice", "Alice likes jazz");

        await client.AddTurnAsync(id, "user", "Note-J4: jazz, really, and I play the cello");
        // The cello comes after jazz in the same answer: once it is there, the second jazz was handled.
        await Extracted.MemoryAsync(client, "cello", "alice", "Alice plays the cello");

        var jazz = (await client.RecallAsync(new { query = "jazz", subject = "alice", limit = 50 })).Where(r => r.Str("content") == "Alice likes jazz");
        Assert.Equal(first.GetProperty("id").GetGuid(), Assert.Single(jazz).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task extraction_stays_in_its_tenant()
    {
        var (mine, theirs) = (await TenantAsync(), await TenantAsync());
        var (_, sequence) = await theirs.RecordAsync(Api.Memory("Alice lives in Rome", subject: "alice"));
        await theirs.RecallAsync(new { query = "Rome", subject = "alice", minSequence = sequence });
        var id = await mine.StartConversationAsync(subject: "alice");

        await mine.AddTurnAsync(id, "user", "Note-T5: the tulips are out");

        var hit = await Extracted.MemoryAsync(mine, "tulips", "alice", "Alice grows tulips");
        Assert.Equal(HttpStatusCode.NotFound, (await theirs.GetAsync($"/memories/{hit.GetProperty("id").GetGuid()}")).StatusCode);
        Assert.DoesNotContain(await theirs.RecallAsync(new { query = "tulips", subject = "alice" }), r => r.Str("content").Contains("tulips"));
        // The model was shown this tenant's memories of the subject only.
        Assert.DoesNotContain("Rome", Assert.Single(s.Model.Extractions, r => r.Contains("Note-T5")));
        // Another tenant cannot record a turn in (or trigger extraction from) this conversation.
        Assert.Equal(HttpStatusCode.NotFound,
            (await theirs.PostAsJsonAsync($"/conversations/{id}/turns", new { role = "user", content = "Note-T5 again" })).StatusCode);
    }
}

/// <summary>Extraction with no provider: each user turn is kept as an episode, unless the conversation says not to.</summary>
public sealed class EpisodeExtractionTests(AetherraFixture fx)
{
    [Fact]
    public async Task with_no_provider_each_user_turn_is_kept_as_an_episode_recall_finds()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var id = await client.StartConversationAsync(subject: "bob");

        await client.ReplyAsync(id, "I parked the car on level 3 of the garage");

        var hit = await Extracted.MemoryAsync(client, "parked car garage", "bob", "I parked the car on level 3 of the garage");
        Assert.Equal("episode", hit.Str("kind"));
        var memory = await client.GetOkAsync($"/memories/{hit.GetProperty("id").GetGuid()}");
        Assert.Equal($"conversation:{id}/turn:1", memory.Str("source"));
        // Only the user's turn: the extractive reply (turn 2) is not kept.
        Assert.DoesNotContain(await client.RecallAsync(new { query = "record", subject = "bob", limit = 50 }),
            r => r.Str("content").Contains("on record"));
    }

    [Fact]
    public async Task a_conversation_with_extraction_off_leaves_no_memory()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var off = await client.StartConversationAsync(subject: "carol", extraction: false);
        var on = await client.StartConversationAsync(subject: "carol");
        Assert.False((await client.ConversationAsync(off)).GetProperty("extraction").GetBoolean());

        await client.AddTurnAsync(off, "user", "My locker code is 4471");
        await client.AddTurnAsync(on, "user", "My badge is the blue one");

        // The queue takes turns in order: once the second is extracted, the first would have been.
        await Extracted.MemoryAsync(client, "badge blue", "carol", "My badge is the blue one");
        Assert.DoesNotContain(await client.RecallAsync(new { query = "locker code", subject = "carol", limit = 50 }),
            r => r.Str("content").Contains("locker"));
    }
}

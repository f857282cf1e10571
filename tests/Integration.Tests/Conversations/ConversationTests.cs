using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Conversations;

public sealed class ConversationTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_conversation_keeps_its_turns_in_order_with_their_roles()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var id = await client.StartConversationAsync(subject: "alice", title: "planning");

        Assert.Equal(1, await client.AddTurnAsync(id, "user", "Book me a table for Friday."));
        Assert.Equal(2, await client.AddTurnAsync(id, "tool", "{\"availability\": [\"19:00\"]}"));
        Assert.Equal(3, await client.AddTurnAsync(id, "assistant", "Done: Friday at 19:00."));

        var conversation = await client.ConversationAsync(id);
        Assert.Equal("alice", conversation.Str("subject"));
        Assert.Equal("assistant", conversation.Str("agent"));
        Assert.Equal("planning", conversation.Str("title"));
        Assert.Equal("open", conversation.Str("status"));
        var turns = conversation.Turns();
        Assert.Equal([1, 2, 3], turns.Select(t => t.GetProperty("turn").GetInt32()));
        Assert.Equal(["user", "tool", "assistant"], turns.Select(t => t.Str("role")));
        Assert.Equal("Done: Friday at 19:00.", turns[2].Str("content"));
    }

    [Fact]
    public async Task conversations_are_listed_by_subject_and_agent()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var a = await client.StartConversationAsync(subject: "alice", agent: "concierge");
        var b = await client.StartConversationAsync(subject: "alice", agent: "coach");
        var c = await client.StartConversationAsync(subject: "bob", agent: "concierge");

        async Task<Guid[]> List(string query) =>
            (await client.GetOkAsync($"/conversations?{query}")).GetProperty("items").EnumerateArray().Select(i => i.Id()).ToArray();

        Assert.Equal([b, a], await List("subject=alice"));
        Assert.Equal([c, a], await List("agent=concierge"));
        Assert.Equal([a], await List("subject=alice&agent=concierge"));
        Assert.Equal([c, b, a], await List(""));
    }

    [Fact]
    public async Task turn_content_is_sealed_in_the_events_and_the_read_model()
    {
        var key = await fx.NewTenantAsync(ConversationSupport.AllScopes);
        var client = fx.Client(key.Key);
        var marker = "turn-secret-" + Guid.NewGuid().ToString("N");
        var id = await client.StartConversationAsync();
        await client.AddTurnAsync(id, "user", $"My locker code is {marker}");

        Assert.Equal($"My locker code is {marker}", (await client.ConversationAsync(id)).Turns()[0].Str("content"));
        HostingHttp.AssertAbsentFrom(marker, await fx.DumpTableAsync("aetherra.mt_events"));
        HostingHttp.AssertAbsentFrom(marker, await fx.DumpTableAsync("aetherra.mt_doc_conversation"));
    }

    [Fact]
    public async Task forgetting_the_subject_shreds_its_conversations()
    {
        var key = await fx.NewTenantAsync(ConversationSupport.AllScopes);
        var client = fx.Client(key.Key);
        var subject = "zoe-" + Guid.NewGuid().ToString("N")[..8];
        var id = await client.StartConversationAsync(subject: subject);
        await client.AddTurnAsync(id, "user", "Zoe's passport number is X123");
        var other = await client.StartConversationAsync(subject: "yann");
        await client.AddTurnAsync(other, "user", "Yann likes tea");

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/subjects/{subject}")).StatusCode);

        var turn = Assert.Single((await client.ConversationAsync(id)).Turns());
        Assert.Equal(JsonValueKind.Null, turn.GetProperty("content").ValueKind);
        Assert.Equal("Yann likes tea", Assert.Single((await client.ConversationAsync(other)).Turns()).Str("content"));
    }

    [Fact]
    public async Task after_forgetting_the_subject_no_turn_is_in_plaintext_anywhere_in_a_full_pg_dump()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var subject = "una-" + Guid.NewGuid().ToString("N")[..8];
        var (said, recalled) = ("usb" + Guid.NewGuid().ToString("N")[..12], "vault" + Guid.NewGuid().ToString("N")[..12]);
        var (_, sequence) = await client.RecordAsync(Api.Memory($"Una keeps the {recalled} in the attic", subject: subject));
        var id = await client.StartConversationAsync(subject: subject);
        await client.AddTurnAsync(id, "user", $"Una's backup drive is labelled {said}");
        // The reply quotes the recalled memory in the assistant turn; the user turn is extracted as an episode.
        var reply = await client.ReplyAsync(id, $"Where is the {recalled}?", minSequence: await fx.RecallReached(sequence));
        Assert.Contains(recalled, reply.Str("content"));
        await Extracted.MemoryAsync(client, "backup drive labelled", subject, $"Una's backup drive is labelled {said}");
        await Extracted.MemoryAsync(client, $"where {recalled}", subject, $"Where is the {recalled}?");

        var forget = await client.DeleteAsync($"/subjects/{subject}");
        Assert.Equal(HttpStatusCode.OK, forget.StatusCode);
        // The async read models (recall keeps text for search) have caught up with the forgetting.
        await fx.RecallReached((await forget.Json()).GetProperty("sequence").GetInt64());

        var dump = Path.Combine(Path.GetTempPath(), $"aetherra-forget-{Guid.NewGuid():N}.sql");
        try
        {
            var run = await Operations.OpsScripts.RunAsync("bash",
                ["-c", "source ops/lib.sh && pg_libpq_env \"$CONN\" && \"$(pg_client_bindir)/pg_dump\" --no-owner -f \"$OUT\""],
                new Dictionary<string, string?> { ["CONN"] = fx.ConnectionString, ["OUT"] = dump }, TestContext.Current.CancellationToken);
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.True(new FileInfo(dump).Length > 0);
            foreach (var line in File.ReadLines(dump))
            {
                Assert.DoesNotContain(said, line);
                Assert.DoesNotContain(recalled, line);
            }
        }
        finally
        {
            File.Delete(dump);
        }
    }

    [Fact]
    public async Task a_closed_conversation_takes_no_turn_and_the_refusal_is_audited()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var id = await client.StartConversationAsync();
        Assert.Equal("closed", (await client.PostAsync($"/conversations/{id}/close", new { })).Str("status"));

        var refused = await client.PostAsJsonAsync($"/conversations/{id}/turns", new { role = "user", content = "hello?" });
        await refused.AssertProblem(HttpStatusCode.UnprocessableEntity);
        var audit = Assert.Single(await client.AuditAsync("conversation.record-turn"));
        Assert.Equal("rejected", audit.Str("outcome"));
        Assert.Equal(id.ToString(), audit.Str("target"));
        Assert.Equal("accepted", Assert.Single(await client.AuditAsync("conversation.start")).Str("outcome"));
    }

    [Theory]
    [InlineData("{\"agent\":\"a\"}", "subject")]
    [InlineData("{\"subject\":\"s\"}", "agent")]
    [InlineData("{\"subject\":\"s\\u0000\",\"agent\":\"a\"}", "subject")]
    [InlineData("{\"subject\":\"s\",\"agent\":\"a\",\"title\":\"t\\u0000\"}", "title")]
    public async Task a_bad_conversation_is_400_and_starts_nothing(string json, string field)
    {
        var key = await fx.NewTenantAsync(ConversationSupport.AllScopes);
        var client = fx.Client(key.Key);
        await (await client.PostRawAsync("/conversations", json)).AssertValidationErrorAsync(field);
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, "conversation.started.v1"));
    }

    [Theory]
    [InlineData("{\"role\":\"system\",\"content\":\"x\"}", "role")]
    [InlineData("{\"role\":\"user\",\"content\":\"  \"}", "content")]
    [InlineData("{\"role\":\"user\",\"content\":\"a\\u0000b\"}", "content")]
    [InlineData("{\"role\":\"1\",\"content\":\"x\"}", "role")]
    public async Task a_bad_turn_is_400_and_records_nothing(string json, string field)
    {
        var key = await fx.NewTenantAsync(ConversationSupport.AllScopes);
        var client = fx.Client(key.Key);
        var id = await client.StartConversationAsync();
        await (await client.PostRawAsync($"/conversations/{id}/turns", json)).AssertValidationErrorAsync(field);
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, "conversation.turn-recorded.v1"));
    }

    [Fact]
    public async Task a_long_turn_is_400()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var id = await client.StartConversationAsync();
        var response = await client.PostAsJsonAsync($"/conversations/{id}/turns", new { role = "user", content = new string('x', 16_385) });
        await response.AssertValidationErrorAsync("content");
    }

    [Fact]
    public async Task another_tenants_conversation_is_404_for_every_route()
    {
        var owner = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var id = await owner.StartConversationAsync();
        await owner.AddTurnAsync(id, "user", "private");
        var stranger = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);

        await (await stranger.GetAsync($"/conversations/{id}")).AssertProblem(HttpStatusCode.NotFound);
        await (await stranger.PostAsJsonAsync($"/conversations/{id}/turns", new { role = "user", content = "hi" })).AssertProblem(HttpStatusCode.NotFound);
        await (await stranger.PostAsJsonAsync($"/conversations/{id}/close", new { })).AssertProblem(HttpStatusCode.NotFound);
        Assert.Empty((await stranger.GetOkAsync("/conversations")).GetProperty("items").EnumerateArray());
        Assert.Single((await owner.ConversationAsync(id)).Turns());
    }

    [Fact]
    public async Task conversations_need_their_scopes()
    {
        var readOnly = fx.Client((await fx.NewTenantAsync("conversations:read")).Key);
        Assert.Equal(HttpStatusCode.Forbidden, (await readOnly.PostAsJsonAsync("/conversations", new { subject = "s", agent = "a" })).StatusCode);
        var memoryOnly = fx.Client((await fx.NewTenantAsync("memory:read", "memory:write")).Key);
        Assert.Equal(HttpStatusCode.Forbidden, (await memoryOnly.GetAsync("/conversations")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client().GetAsync("/conversations")).StatusCode);
    }

    [Fact]
    public async Task concurrent_turns_each_get_their_own_number()
    {
        var key = await fx.NewTenantAsync(ConversationSupport.AllScopes);
        var client = fx.Client(key.Key);
        var id = await client.StartConversationAsync();
        var turns = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => client.AddTurnAsync(id, "user", $"message {i}")));
        Assert.Equal(Enumerable.Range(1, 8), turns.Order());
        Assert.Equal(8, (await client.ConversationAsync(id)).Turns().Length);
    }
}

using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Conversations;

/// <summary>Replies with no provider configured: the extractive, cited answer, as JSON and as a resumable event stream.</summary>
public sealed class ReplyTests(AetherraFixture fx)
{
    [Fact]
    public async Task with_no_provider_a_reply_is_the_recalled_memories_cited_and_both_turns_are_recorded()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var (tea, _) = await client.RecordAsync(Api.Memory("Alice drinks green tea without sugar", subject: "alice"));
        var (_, recorded) = await client.RecordAsync(Api.Memory("Bob drinks coffee", subject: "bob"));
        var id = await client.StartConversationAsync(subject: "alice");

        var reply = await client.ReplyAsync(id, "What does Alice drink?", minSequence: await fx.RecallReached(recorded));

        Assert.False(reply.GetProperty("generated").GetBoolean());
        Assert.Equal("none", reply.Str("provider"));
        Assert.Equal(2, reply.GetProperty("turn").GetInt32());
        Assert.Equal(1, reply.GetProperty("replyTo").GetInt32());
        Assert.Contains("[1] Alice drinks green tea without sugar", reply.Str("content"));
        Assert.DoesNotContain("Bob", reply.Str("content"));
        var citation = Assert.Single(reply.GetProperty("citations").EnumerateArray());
        Assert.Equal(tea, citation.GetProperty("memoryId").GetGuid());
        Assert.Equal(1, citation.GetProperty("version").GetInt32());
        Assert.True(reply.GetProperty("sequence").GetInt64() > recorded);

        var turns = (await client.ConversationAsync(id)).Turns();
        Assert.Equal(["user", "assistant"], turns.Select(t => t.Str("role")));
        Assert.Equal("What does Alice drink?", turns[0].Str("content"));
        Assert.Equal(reply.Str("content"), turns[1].Str("content"));
        Assert.Equal("none", turns[1].Str("provider"));
        Assert.Equal(tea, Assert.Single(turns[1].GetProperty("citations").EnumerateArray()).GetProperty("memoryId").GetGuid());
        Assert.Equal("accepted", Assert.Single(await client.AuditAsync("conversation.reply")).Str("outcome"));
    }

    [Fact]
    public async Task a_citation_names_the_version_recall_returned()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var (memory, _) = await client.RecordAsync(Api.Memory("Carla lives in Lyon", subject: "carla"));
        var revised = await client.ReviseAsync(memory, "Carla lives in Marseille").SequenceOf();
        var id = await client.StartConversationAsync(subject: "carla");

        var reply = await client.ReplyAsync(id, "Where does Carla live?", minSequence: await fx.RecallReached(revised));

        var citation = Assert.Single(reply.GetProperty("citations").EnumerateArray());
        Assert.Equal(memory, citation.GetProperty("memoryId").GetGuid());
        Assert.Equal(2, citation.GetProperty("version").GetInt32());
        Assert.Contains("Marseille", reply.Str("content"));
        Assert.DoesNotContain("Lyon", reply.Str("content"));
    }

    [Fact]
    public async Task with_nothing_recalled_the_reply_says_so_and_cites_nothing()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var id = await client.StartConversationAsync(subject: "nobody");
        var reply = await client.ReplyAsync(id, "What do you know about me?");
        Assert.Equal("I have nothing on record about that yet.", reply.Str("content"));
        Assert.Empty(reply.GetProperty("citations").EnumerateArray());
    }

    [Fact]
    public async Task a_streamed_reply_has_monotonic_ids_tokens_and_a_final_done_frame_with_the_recorded_turn()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var (_, recorded) = await client.RecordAsync(Api.Memory("Dan's flight leaves at 7:40 from gate B12", subject: "dan"));
        var id = await client.StartConversationAsync(subject: "dan");

        var frames = await client.EventsAsync(HttpMethod.Post, $"/conversations/{id}/reply",
            new { message = "When does Dan's flight leave?", minSequence = await fx.RecallReached(recorded) });

        Assert.True(frames.Count > 3);
        Assert.All(frames[..^1], f => Assert.Equal("token", f.Event));
        Assert.Equal(Enumerable.Range(1, frames.Count).Select(n => $"1:{n}"), frames.Select(f => f.Id));
        var done = frames[^1];
        Assert.Equal("done", done.Event);
        Assert.Equal(frames.Text(), done.Data.Str("content"));
        Assert.Contains("gate B12", done.Data.Str("content"));
        Assert.Equal(2, done.Data.GetProperty("turn").GetInt32());
        Assert.Equal(done.Data.Str("content"), (await client.ConversationAsync(id)).Turns()[1].Str("content"));
    }

    [Fact]
    public async Task a_reconnect_after_the_reply_finished_gets_the_remaining_frames_and_records_nothing()
    {
        var key = await fx.NewTenantAsync(ConversationSupport.AllScopes);
        var client = fx.Client(key.Key);
        var (_, recorded) = await client.RecordAsync(Api.Memory("Eve's locker is number 42 on the second floor", subject: "eve"));
        var id = await client.StartConversationAsync(subject: "eve");
        var request = new { message = "Where is Eve's locker?", minSequence = await fx.RecallReached(recorded) };
        var all = await client.EventsAsync(HttpMethod.Post, $"/conversations/{id}/reply", request);

        var resumed = await client.EventsAsync(HttpMethod.Post, $"/conversations/{id}/reply", request, lastEventId: all[2].Id);
        var viaGet = await client.EventsAsync(HttpMethod.Get, $"/conversations/{id}/turns/1/stream", lastEventId: all[2].Id);
        var byAssistantTurn = await client.EventsAsync(HttpMethod.Get, $"/conversations/{id}/turns/2/stream");

        Assert.Equal(all.Skip(3).Select(f => (f.Id, f.Event, f.Data.ToString())), resumed.Select(f => (f.Id, f.Event, f.Data.ToString())));
        Assert.Equal(all.Skip(3).Select(f => f.Id), viaGet.Select(f => f.Id));
        Assert.Equal(all.Select(f => f.Id), byAssistantTurn.Select(f => f.Id));
        Assert.Equal(2, (await client.ConversationAsync(id)).Turns().Length);
        Assert.Equal(2, await fx.CountEventsAsync(key.Tenant, "conversation.turn-recorded.v1"));
    }

    [Fact]
    public async Task a_reply_rebuilt_from_its_recorded_turn_has_the_same_frames()
    {
        var key = await fx.NewTenantAsync(ConversationSupport.AllScopes);
        var client = fx.Client(key.Key);
        var (_, recorded) = await client.RecordAsync(Api.Memory("Fay's bike is the red one by the door", subject: "fay"));
        var id = await client.StartConversationAsync(subject: "fay");
        var all = await client.EventsAsync(HttpMethod.Post, $"/conversations/{id}/reply", new { message = "Which bike is Fay's?", minSequence = await fx.RecallReached(recorded) });

        // As on another node, or after a restart: this node no longer holds the live stream.
        fx.Host.Services.GetRequiredService<Aetherra.Application.Conversations.ReplyStreams>().Drop(key.Tenant, id, 1);
        var rebuilt = await client.EventsAsync(HttpMethod.Get, $"/conversations/{id}/turns/1/stream", lastEventId: "1:1");

        Assert.Equal(all.Skip(1).SkipLast(1).Select(f => (f.Id, f.Event, f.Data.ToString())),
            rebuilt.SkipLast(1).Select(f => (f.Id, f.Event, f.Data.ToString())));
        // The done frame carries the same turn; its sequence is the turn's event (the live one also counted the audit record).
        var (live, again) = (all[^1], rebuilt[^1]);
        Assert.Equal((live.Id, "done"), (again.Id, again.Event));
        foreach (var field in new[] { "turn", "content", "citations", "provider", "generated", "replyTo" })
            Assert.Equal(live.Data.GetProperty(field).ToString(), again.Data.GetProperty(field).ToString());
        Assert.InRange(again.Data.GetProperty("sequence").GetInt64(), 1, live.Data.GetProperty("sequence").GetInt64());
    }

    [Theory]
    [InlineData("{\"message\":\"\"}", "message")]
    [InlineData("{\"message\":\"hi\\u0000\"}", "message")]
    [InlineData("{\"message\":\"hi\",\"limit\":0}", "limit")]
    [InlineData("{\"message\":\"hi\",\"limit\":51}", "limit")]
    public async Task a_bad_reply_request_is_400_and_records_nothing(string json, string field)
    {
        var key = await fx.NewTenantAsync(ConversationSupport.AllScopes);
        var client = fx.Client(key.Key);
        var id = await client.StartConversationAsync();
        await (await client.PostRawAsync($"/conversations/{id}/reply", json)).AssertValidationErrorAsync(field);
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, "conversation.turn-recorded.v1"));
    }

    [Fact]
    public async Task an_unknown_reply_and_a_bad_last_event_id_are_refused()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var id = await client.StartConversationAsync();
        await (await client.GetAsync($"/conversations/{id}/turns/5/stream")).AssertProblem(HttpStatusCode.NotFound);
        var request = HostingHttp.Request(HttpMethod.Post, $"/conversations/{id}/reply", new { message = "hi" });
        request.Headers.Add("Last-Event-ID", "not-an-id");
        await (await client.SendAsync(request)).AssertValidationErrorAsync("Last-Event-ID");
        Assert.Empty((await client.ConversationAsync(id)).Turns());
    }

    [Fact]
    public async Task another_tenant_cannot_reply_in_or_stream_a_conversation()
    {
        var owner = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var id = await owner.StartConversationAsync();
        await owner.ReplyAsync(id, "hello");
        var stranger = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);

        await (await stranger.PostAsJsonAsync($"/conversations/{id}/reply", new { message = "hi" })).AssertProblem(HttpStatusCode.NotFound);
        await (await stranger.GetAsync($"/conversations/{id}/turns/1/stream")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(2, (await owner.ConversationAsync(id)).Turns().Length);
    }
}

using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Conversations;

/// <summary>
/// A second reply in a conversation starts its recall beside the stream's lock (the process knows the conversation's
/// subject from the first): it still honours minSequence, the subject, and the tenant.
/// </summary>
public sealed class ReplyRecallTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_later_reply_recalls_beside_the_lock_and_sees_what_minSequence_asks_for()
    {
        var client = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        var (tea, recorded) = await client.RecordAsync(Api.Memory("Dana drinks mint tea", subject: "dana"));
        var id = await client.StartConversationAsync(subject: "dana");

        var first = await client.ReplyAsync(id, "What does Dana drink?", minSequence: await fx.RecallReached(recorded));
        Assert.Equal(tea, Assert.Single(first.GetProperty("citations").EnumerateArray()).GetProperty("memoryId").GetGuid());

        // Written after the first reply; the second asks for it by minSequence, recalled before the lock is taken.
        var (bike, later) = await client.RecordAsync(Api.Memory("Dana rides a red bike to work", subject: "dana"));
        await client.RecordAsync(Api.Memory("Eve rides a red bike too", subject: "eve"));
        var second = await client.ReplyAsync(id, "Which bike does Dana ride?", minSequence: later);

        Assert.Equal(4, second.GetProperty("turn").GetInt32());
        var cited = second.GetProperty("citations").EnumerateArray().Select(c => c.GetProperty("memoryId").GetGuid()).ToList();
        Assert.Contains(bike, cited);
        Assert.DoesNotContain("Eve", second.Str("content"));

        // Another tenant replying to this conversation's id is still 404, and learns nothing from the remembered subject.
        var stranger = fx.Client((await fx.NewTenantAsync(ConversationSupport.AllScopes)).Key);
        await (await stranger.PostAsJsonAsync($"/conversations/{id}/reply", new { message = "Which bike does Dana ride?" }))
            .AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(4, (await client.ConversationAsync(id)).Turns().Length);
    }
}

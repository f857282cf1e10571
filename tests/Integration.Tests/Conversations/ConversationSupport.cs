using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Conversations;

/// <summary>Helpers over the conversation routes, so each test reads as the story it tells.</summary>
public static class ConversationSupport
{
    public static readonly string[] AllScopes =
        ["conversations:read", "conversations:write", "memory:read", "memory:write", "audit:read"];

    public static async Task<Guid> StartConversationAsync(this HttpClient client, string subject = "alice", string agent = "assistant",
        bool? extraction = null, string? title = null)
    {
        var response = await client.PostAsJsonAsync("/conversations", new { subject, agent, title, extraction });
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {body}");
        return body.Id();
    }

    public static async Task<int> AddTurnAsync(this HttpClient client, Guid id, string role, string content)
    {
        var response = await client.PostAsJsonAsync($"/conversations/{id}/turns", new { role, content });
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {body}");
        return body.GetProperty("turn").GetInt32();
    }

    public static Task<JsonElement> ConversationAsync(this HttpClient client, Guid id) => client.GetOkAsync($"/conversations/{id}");

    public static JsonElement[] Turns(this JsonElement conversation) => conversation.GetProperty("turns").EnumerateArray().ToArray();
}

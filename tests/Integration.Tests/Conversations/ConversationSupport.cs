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

    /// <summary>Waits until recall has the sequence (the suite's own patience), then hands it back for minSequence.</summary>
    public static async Task<long> RecallReached(this AetherraFixture fx, long sequence)
    {
        await fx.WaitForProjectionAsync(Aetherra.Application.Recall.RecallProjection.Name, sequence);
        return sequence;
    }

    public static async Task<JsonElement> ReplyAsync(this HttpClient client, Guid id, string message, long? minSequence = null, int? limit = null)
    {
        var response = await client.PostAsJsonAsync($"/conversations/{id}/reply", new { message, minSequence, limit });
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return body;
    }

    /// <summary>One server-sent frame.</summary>
    public sealed record Frame(string Id, string Event, JsonElement Data);

    /// <summary>
    /// Sends the request for an event stream and reads its frames to the end (or until <c>stopAfter</c> frames, then
    /// drops the connection as a client that goes away would).
    /// </summary>
    public static async Task<List<Frame>> EventsAsync(this HttpClient client, HttpMethod method, string path, object? body = null,
        string? lastEventId = null, int? stopAfter = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var frames = new List<Frame>();
        string? id = null, name = null, data = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("id: ")) id = line[4..];
            else if (line.StartsWith("event: ")) name = line[7..];
            else if (line.StartsWith("data: ")) data = line[6..];
            else if (line.Length == 0 && data is not null)
            {
                frames.Add(new Frame(id!, name!, JsonDocument.Parse(data).RootElement.Clone()));
                id = name = data = null;
                if (frames.Count == stopAfter) break;
            }
        }
        return frames;
    }

    public static string Text(this IEnumerable<Frame> frames) =>
        string.Concat(frames.Where(f => f.Event == "token").Select(f => f.Data.GetProperty("text").GetString()));
}

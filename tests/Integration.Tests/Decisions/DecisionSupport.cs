namespace Aetherra.Integration.Tests.Decisions;

/// <summary>Helpers over the decision routes, so each test reads as the story it tells.</summary>
public static class DecisionSupport
{
    public static readonly string[] AllScopes =
        ["decisions:read", "decisions:write", "decisions:approve", "memory:read", "memory:write", "audit:read"];

    public static object Proposal(double confidence, string agent = "concierge", string category = "booking",
        string risk = "low", object[]? evidence = null, string action = "book a table for two") =>
        new { agent, category, action, confidence, rationale = "she asked for it twice", risk, evidence = evidence ?? [] };

    public static async Task<JsonElement> ProposeAsync(this HttpClient client, object proposal, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var response = await client.PostAsJsonAsync("/decisions", proposal);
        var body = await response.Json();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {body}");
        return body;
    }

    public static async Task<JsonElement> PostAsync(this HttpClient client, string path, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await client.PostAsJsonAsync(path, body);
        var json = await response.Json();
        Assert.True(response.StatusCode == expected, $"{path} answered {(int)response.StatusCode}: {json}");
        return json;
    }

    public static async Task<JsonElement> GetOkAsync(this HttpClient client, string path)
    {
        var response = await client.GetConsistentAsync(path);
        var json = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}: {json}");
        return json;
    }

    public static Guid Id(this JsonElement e) => e.GetProperty("id").GetGuid();

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;
}

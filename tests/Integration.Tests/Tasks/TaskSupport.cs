using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Tasks;

/// <summary>Helpers over the task routes, so each test reads as the story it tells.</summary>
public static class TaskSupport
{
    public static readonly string[] AllScopes =
        ["tasks:read", "tasks:write", "decisions:read", "decisions:write", "decisions:approve", "memory:read", "memory:write", "audit:read"];

    public static async Task<Guid> CreateTaskAsync(this HttpClient client, object task) =>
        (await client.PostAsync("/tasks", task, HttpStatusCode.Created)).Id();

    /// <summary>POST /tasks/claim: the claimed task, or null on 204.</summary>
    public static async Task<JsonElement?> ClaimAsync(this HttpClient client, string agent, int? leaseSeconds = null)
    {
        var response = await client.PostAsJsonAsync("/tasks/claim", new { agent, leaseSeconds });
        if (response.StatusCode == HttpStatusCode.NoContent) return null;
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"claim answered {(int)response.StatusCode}: {body}");
        return body;
    }

    /// <summary>Waits (wall clock) until a lease the server handed out has run out.</summary>
    public static async Task LeaseRunsOutAsync(JsonElement claim)
    {
        var left = claim.GetProperty("leaseUntil").GetDateTimeOffset() - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero) await Task.Delay(left + TimeSpan.FromMilliseconds(50));
    }
}

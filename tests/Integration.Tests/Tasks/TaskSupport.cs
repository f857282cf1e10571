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

    /// <summary>task.claimed.v1 events per task of the tenant, straight from the event store.</summary>
    public static Dictionary<Guid, int> ClaimEvents(this AetherraFixture fx, string tenant)
    {
        using var db = fx.OpenDatabase();
        using var cmd = new Npgsql.NpgsqlCommand(
            "select stream_id, count(*)::int from aetherra.mt_events where tenant_id = $1 and type = 'task.claimed.v1' group by stream_id", db);
        cmd.Parameters.Add(new() { Value = tenant });
        using var reader = cmd.ExecuteReader();
        var counts = new Dictionary<Guid, int>();
        while (reader.Read()) counts[reader.GetGuid(0)] = reader.GetInt32(1);
        return counts;
    }
}

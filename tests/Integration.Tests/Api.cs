namespace Aetherra.Integration.Tests;

/// <summary>Small helpers over the JSON answers the tests read.</summary>
public static class Api
{
    public static async Task<JsonElement> Json(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text.Length == 0 ? "null" : text).RootElement.Clone();
    }

    public static object Memory(string content, string subject = "alice", string agent = "assistant", string kind = "fact",
        string[]? tags = null, string? classification = null, DateTimeOffset? expiresAt = null) =>
        new { content, subject, agent, kind, tags = tags ?? [], classification, expiresAt };

    public static async Task<(Guid Id, long Sequence)> RecordAsync(this HttpClient client, object memory)
    {
        var response = await client.PostAsJsonAsync("/memories", memory);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        return (body.GetProperty("id").GetGuid(), body.GetProperty("sequence").GetInt64());
    }

    /// <summary>The caller's tenant's audit records of one action, oldest first.</summary>
    public static async Task<JsonElement[]> AuditAsync(this HttpClient client, string action)
    {
        var response = await client.GetAsync($"/audit?action={action}&limit=1000");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Json()).GetProperty("records").EnumerateArray().ToArray();
    }

    /// <summary>
    /// POST /admin/projections/{name}/rebuild, then the job followed until it ends (it must succeed, with
    /// everything processed): the job's result.
    /// </summary>
    public static async Task<JsonElement> RebuildAsync(this HttpClient admin, string projection, object body)
    {
        var response = await admin.PostAsJsonAsync($"/admin/projections/{projection}/rebuild", body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var jobId = (await response.Json()).GetProperty("jobId").GetGuid();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(180);
        while (true)
        {
            var job = await (await admin.GetAsync($"/admin/jobs/{jobId}")).Json();
            if (job.GetProperty("status").GetString() != "running")
            {
                Assert.True(job.GetProperty("status").GetString() == "succeeded", job.ToString());
                Assert.Equal(job.GetProperty("total").GetInt64(), job.GetProperty("processed").GetInt64());
                return job.GetProperty("result");
            }
            Assert.True(DateTimeOffset.UtcNow < deadline, $"rebuild job {jobId} still running: {job}");
            await Task.Yield();
        }
    }
}

using System.Text;
using Npgsql;

namespace Aetherra.Integration.Tests;

/// <summary>What the memory tests share: raw requests, problem checks and direct looks at the store's tables.</summary>
public static class MemoryTestSupport
{
    public const string Recorded = "memory.recorded.v1";
    public const string Revised = "memory.revised.v1";
    public const string Forgotten = "memory.forgotten.v1";

    public static StringContent RawJson(string json) => new(json, Encoding.UTF8, "application/json");

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string json) =>
        client.PostAsync(path, RawJson(json));

    public static Task<HttpResponseMessage> ReviseAsync(this HttpClient client, Guid id, string content, string? reason = "correction", long? expectedVersion = null) =>
        client.PutAsJsonAsync($"/memories/{id}", new { content, reason, expectedVersion });

    public static async Task<JsonElement> ReadMemoryAsync(this HttpClient client, Guid id)
    {
        var response = await client.GetAsync($"/memories/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Json();
    }

    /// <summary>Asserts a 400 validation problem whose errors name exactly the given field.</summary>
    public static async Task<JsonElement> AssertValidationErrorAsync(this HttpResponseMessage response, string field, string? because = null)
    {
        var body = await response.AssertProblem(HttpStatusCode.BadRequest);
        var errors = body.GetProperty("errors");
        var fields = errors.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.True(fields.SequenceEqual([field]), $"{because}: expected errors on '{field}' only, got: {string.Join(", ", fields)}");
        Assert.NotEmpty(errors.GetProperty(field).EnumerateArray());
        return body;
    }

    public static async Task<long> CountStreamEventsAsync(this AetherraFixture fx, Guid streamId)
    {
        await using var db = fx.OpenDatabase();
        await using var count = new NpgsqlCommand("select count(*) from aetherra.mt_events where stream_id = $1", db)
        {
            Parameters = { new() { Value = streamId } }
        };
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>How many rows of every table in the aetherra schema contain the text, read as the raw row.</summary>
    /// <summary>
    /// How many rows of each table hold the text, in every schema (the live one by table name, others, such as
    /// analysis rebuilds' copies, as schema.table). A table dropped meanwhile (another test's) is skipped.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, long>> FindInEveryTableAsync(this AetherraFixture fx, string text)
    {
        await using var db = fx.OpenDatabase();
        var tables = new List<(string Schema, string Table)>();
        await using (var list = new NpgsqlCommand("""
                         select table_schema, table_name from information_schema.tables
                         where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
                         """, db))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add((reader.GetString(0), reader.GetString(1)));
        Assert.Contains(("aetherra", "mt_events"), tables);
        Assert.Contains(("aetherra", "subject_keys"), tables);

        var hits = new Dictionary<string, long>();
        foreach (var (schema, table) in tables)
        {
            await using var count = new NpgsqlCommand($"select count(*) from \"{schema}\".\"{table}\" x where x::text like $1", db)
            {
                Parameters = { new() { Value = "%" + text + "%" } }
            };
            try
            {
                hits[schema == "aetherra" ? table : $"{schema}.{table}"] = (long)(await count.ExecuteScalarAsync())!;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
            }
        }
        return hits;
    }

    public static async Task<Guid?> SubjectKeyIdAsync(this AetherraFixture fx, string tenant, string subject)
    {
        await using var db = fx.OpenDatabase();
        await using var find = new NpgsqlCommand("select key_id from aetherra.subject_keys where tenant_id = $1 and subject = $2", db)
        {
            Parameters = { new() { Value = tenant }, new() { Value = subject } }
        };
        return await find.ExecuteScalarAsync() as Guid?;
    }

    /// <summary>Fires the requests at once, each on its own client, and hands back every answer.</summary>
    public static async Task<HttpResponseMessage[]> InParallelAsync(this AetherraFixture fx, string key, int count,
        Func<HttpClient, int, Task<HttpResponseMessage>> send)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            var client = fx.Client(key);
            await start.Task;
            return await send(client, i);
        }).ToArray();
        start.SetResult();
        return await Task.WhenAll(tasks);
    }
}

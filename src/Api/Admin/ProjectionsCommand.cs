using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using JasperFx.CommandLine;

namespace Aetherra.Api.Admin;

public sealed class ProjectionsInput
{
    [Description("list: every read model with its position and lag; rebuild: rebuild one async projection")]
    public string Verb { get; set; } = "";

    [Description("rebuild: the projection's name (as `list` shows it)")]
    public string Name { get; set; } = "";

    [Description("rebuild: as of this global sequence, into a separate schema"), FlagAlias("as-of-sequence")]
    public long? AsOfSequenceFlag { get; set; }

    [Description("rebuild: as of this instant (ISO 8601), into a separate schema"), FlagAlias("as-of-time")]
    public string? AsOfTimeFlag { get; set; }

    [Description("rebuild: the separate schema to build into (default <name>_asof_<sequence>)"), FlagAlias("target-schema")]
    public string? TargetSchemaFlag { get; set; }

    [Description("the running server (default: AETHERRA_URLS, else http://127.0.0.1:5080)"), FlagAlias("url")]
    public string? UrlFlag { get; set; }

    [Description("an admin key (default: the file AETHERRA_ADMIN_KEY_FILE names, as ops/run sets it)"), FlagAlias("key")]
    public string? KeyFlag { get; set; }
}

/// <summary>
/// <c>aetherra read-models list</c> and <c>aetherra read-models rebuild NAME</c> (Marten's own offline <c>projections</c> command would be a second writer beside the running daemon): the same operations as
/// /admin/projections, from a terminal, with a progress bar. They go through the running server, so the
/// rebuild runs where the projection runs (its only writer) and is audited like any admin command.
/// </summary>
[Description("List the read models, or rebuild an async projection with a progress bar", Name = "read-models")]
public sealed class ProjectionsCommand : JasperFxAsyncCommand<ProjectionsInput>
{
    public ProjectionsCommand()
    {
        Usage("list").Arguments(x => x.Verb);
        Usage("rebuild").Arguments(x => x.Verb, x => x.Name);
    }

    public override async Task<bool> Execute(ProjectionsInput input)
    {
        var url = input.UrlFlag ?? Environment.GetEnvironmentVariable("AETHERRA_URLS")?.Split(';')[0] ?? "http://127.0.0.1:5080";
        var key = input.KeyFlag ?? (Environment.GetEnvironmentVariable("AETHERRA_ADMIN_KEY_FILE") is { Length: > 0 } file && File.Exists(file)
            ? File.ReadAllText(file).Trim() : null);
        if (key is null)
        {
            Console.Error.WriteLine("No admin key: pass --key, or set AETHERRA_ADMIN_KEY_FILE (ops/run does).");
            return false;
        }
        using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        try
        {
            return input.Verb.ToLowerInvariant() switch
            {
                "list" => await ListAsync(http),
                "rebuild" when input.Name.Length > 0 => await RebuildAsync(http, input),
                _ => Usage(),
            };
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"The server at {url} did not answer: {e.Message}");
            return false;
        }
    }

    private static bool Usage()
    {
        Console.Error.WriteLine("usage: read-models list | read-models rebuild NAME [--as-of-sequence N | --as-of-time T] [--target-schema S] [--url URL] [--key KEY]");
        return false;
    }

    private static async Task<bool> ListAsync(HttpClient http)
    {
        var response = await http.GetAsync("admin/projections");
        if (!await SucceededAsync(response)) return false;
        Console.WriteLine($"{"name",-24} {"lifecycle",-9} {"position",12} {"lag",10}  status");
        foreach (var p in (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray())
            Console.WriteLine($"{p.GetProperty("name").GetString(),-24} {p.GetProperty("lifecycle").GetString(),-9} " +
                              $"{p.GetProperty("position").GetInt64(),12} {p.GetProperty("lag").GetInt64(),10}  {p.GetProperty("status").GetString()}");
        return true;
    }

    private static async Task<bool> RebuildAsync(HttpClient http, ProjectionsInput input)
    {
        var name = input.Name;
        var started = await http.PostAsJsonAsync($"admin/projections/{Uri.EscapeDataString(name)}/rebuild", new
        {
            asOfSequence = input.AsOfSequenceFlag, asOfTime = input.AsOfTimeFlag, targetSchema = input.TargetSchemaFlag,
        });
        if (!await SucceededAsync(started)) return false;
        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString();
        Console.WriteLine($"rebuilding {name} (job {jobId})");
        while (true)
        {
            var job = await http.GetFromJsonAsync<JsonElement>($"admin/jobs/{jobId}");
            var processed = job.GetProperty("processed").GetInt64();
            // The bar starts once the job knows its real total (it counts the events first), never at 0 of 0.
            if (job.TryGetProperty("total", out var t) && t.ValueKind == JsonValueKind.Number)
                Console.Write($"\r{Bar(processed, t.GetInt64())} {processed:N0}/{t.GetInt64():N0} events ");
            switch (job.GetProperty("status").GetString())
            {
                case "succeeded":
                    Console.WriteLine(job.TryGetProperty("result", out var result) && result.TryGetProperty("targetSchema", out var schema)
                        ? $"\ndone: schema {schema.GetString()}, as of sequence {result.GetProperty("asOfSequence").GetInt64()}"
                        : "\ndone");
                    return true;
                case "failed":
                    Console.WriteLine($"\nfailed: {job.GetProperty("error").GetString()}");
                    return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    private static string Bar(long processed, long total)
    {
        const int width = 30;
        var done = total > 0 ? (int)Math.Min(width, processed * width / total) : 0;
        return $"[{new string('#', done)}{new string('.', width - done)}] {(total > 0 ? processed * 100 / total : 0),3}%";
    }

    private static async Task<bool> SucceededAsync(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode) return true;
        Console.Error.WriteLine($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return false;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;

namespace Aetherra.Benchmarks;

/// <summary>
/// `ops/bench mcp`: what an MCP tool call adds to the HTTP route it mirrors (issue 15). The same query (10 results
/// of 200 memories of one subject, embeddings on) as a `recall` tool call through the SDK's own C# client over
/// Streamable HTTP and as `POST /recall`, alternating call by call on one connection pool, against one server;
/// several rounds so the spread between rounds shows. tests/mcp-client/bench.mjs does the same with the
/// TypeScript SDK (docs/benchmarks.md, "MCP").
/// </summary>
public static class McpBench
{
    public const string Usage = """
        aetherra-bench mcp [options]   (normally run through `ops/bench mcp`)

          --calls N        timed calls of each kind per round (default 500; --quick 100)
          --rounds N       rounds (default 3; --quick 1)
          --quick          a smoke run, not figures to quote
          --write          replace the MCP section of docs/benchmarks.md
          --server DLL     the built server (default src/Api/bin/Release/net10.0/aetherra.dll)
        """;

    public const string Begin = "<!-- bench-mcp:begin -->";
    public const string End = "<!-- bench-mcp:end -->";
    private const int Memories = 200;

    private sealed record Row(int Round, int Calls, double McpP50, double McpP95, double HttpP50, double HttpP95);

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        int? calls = null, rounds = null;
        bool write = false, quick = false;
        string? serverDll = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--calls": calls = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--quick": quick = true; break;
                case "--write": write = true; break;
                case "--server": serverDll = args[++i]; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }
        }
        calls ??= quick ? 100 : 500;
        rounds ??= quick ? 1 : 3;
        if (calls < 20 || rounds < 1) { Console.Error.WriteLine("aetherra-bench: --calls must be at least 20, --rounds at least 1"); return 2; }

        var cluster = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench mcp (it starts a throwaway PostgreSQL).");
        serverDll ??= Paths.DefaultServerDll();
        var machine = await Machine.DescribeAsync(cluster);
        var loadAtStart = Machine.LoadAverage();
        var workDir = Directory.CreateTempSubdirectory("aetherra-bench-mcp.").FullName;
        await using var databases = new Databases(cluster);
        await using var server = await ServerProcess.StartAsync(serverDll, await databases.CreateAsync("mcp", ct), workDir, ct);
        var key = await server.NewKeyAsync("bench", "bench", ["memory:read", "memory:write"], ct);

        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        var subject = $"bench-{Guid.NewGuid():N}";
        string[] topics = ["tea", "coffee", "trains", "databases", "gardening", "chess", "jazz", "hiking", "pasta", "rust"];
        using var seeded = await http.PostAsJsonAsync("/memories/batch", new
        {
            memories = Enumerable.Range(0, Memories).Select(i => new
            {
                content = $"note {i}: the user mentioned {topics[i % 10]} and {topics[i * 7 % 10]} on day {i}",
                subject, agent = "bench", kind = "fact"
            })
        }, ct);
        var seedText = await seeded.Content.ReadAsStringAsync(ct);
        if (!seeded.IsSuccessStatusCode) throw new HttpRequestException($"{(int)seeded.StatusCode} from /memories/batch: {seedText}");
        var sequence = JsonDocument.Parse(seedText).RootElement.GetProperty("sequence").GetInt64();
        var query = new Dictionary<string, object?>
        {
            ["query"] = "what does the user say about tea and chess", ["subject"] = subject, ["limit"] = 10, ["minSequence"] = sequence
        };

        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(server.BaseAddress, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {key}" }
        }, http, ownsHttpClient: false);
        await using var mcp = await McpClient.CreateAsync(transport, new McpClientOptions { InitializationTimeout = TimeSpan.FromMinutes(2) }, cancellationToken: ct);

        async Task ViaMcp()
        {
            var result = await mcp.CallToolAsync("recall", query, cancellationToken: ct);
            if (result.IsError == true) throw new InvalidOperationException($"recall tool failed: {JsonSerializer.Serialize(result.Content)}");
            if (result.StructuredContent?.GetProperty("results").GetArrayLength() != 10) throw new InvalidOperationException("the recall tool did not return 10 results");
        }
        async Task ViaHttp()
        {
            using var response = await http.PostAsJsonAsync("/recall", query, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{(int)response.StatusCode} from /recall: {text}");
            if (JsonDocument.Parse(text).RootElement.GetProperty("results").GetArrayLength() != 10) throw new InvalidOperationException("POST /recall did not return 10 results");
        }

        // Read-your-writes: the server answers 503 until the projection (embeddings included) reached the batch's
        // sequence; ask again until it has, for at most two minutes. Then warm both paths up.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            using var probe = await http.PostAsJsonAsync("/recall", query, ct);
            if (probe.IsSuccessStatusCode) break;
            if (probe.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable || waited.Elapsed > TimeSpan.FromMinutes(2))
                throw new HttpRequestException($"{(int)probe.StatusCode} from /recall: {await probe.Content.ReadAsStringAsync(ct)}");
            await Task.Delay(200, ct);
        }
        for (var i = 0; i < 30; i++) { await ViaMcp(); await ViaHttp(); }

        var rows = new List<Row>();
        for (var round = 1; round <= rounds; round++)
        {
            var viaMcp = new List<double>(calls.Value);
            var viaHttp = new List<double>(calls.Value);
            for (var i = 0; i < calls; i++)
            {
                // Alternate which goes first, so neither always follows the other's garbage or cache state.
                if (i % 2 == 0) { viaMcp.Add(await Time(ViaMcp)); viaHttp.Add(await Time(ViaHttp)); }
                else { viaHttp.Add(await Time(ViaHttp)); viaMcp.Add(await Time(ViaMcp)); }
            }
            var row = new Row(round, calls.Value, Pct(viaMcp, 0.5), Pct(viaMcp, 0.95), Pct(viaHttp, 0.5), Pct(viaHttp, 0.95));
            rows.Add(row);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"aetherra-bench: round {round}: MCP p50 {row.McpP50:0.00} p95 {row.McpP95:0.00} ms; HTTP p50 {row.HttpP50:0.00} p95 {row.HttpP95:0.00} ms"));
        }

        var markdown = Markdown(rows, machine, loadAtStart, Machine.LoadAverage());
        Console.WriteLine(markdown);
        if (write) Report.WriteSection(Paths.DefaultDoc(), markdown, Begin, End);
        return 0;
    }

    private static async Task<double> Time(Func<Task> call)
    {
        var started = Stopwatch.GetTimestamp();
        await call();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static double Pct(List<double> xs, double p)
    {
        var sorted = xs.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static string Markdown(IReadOnlyList<Row> rows, Machine machine, string loadAtStart, string loadAtEnd)
    {
        static string Ms(double v) => v.ToString("0.00", CultureInfo.InvariantCulture) + " ms";
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Command: `{Environment.GetEnvironmentVariable("AETHERRA_BENCH_COMMAND") ?? "ops/bench mcp"}` (commit {machine.Commit}, " +
            $"{machine.At:yyyy-MM-dd HH:mm} UTC, {machine.Cpus} CPUs {machine.CpuModel}, {machine.Postgres}; load average {loadAtStart} at start, " +
            $"{loadAtEnd} at end; the server, PostgreSQL and the client share the machine). The SDK's C# client over Streamable HTTP " +
            $"and plain `POST /recall`, alternating on one connection pool; 10 results of {Memories} memories of one subject, embeddings on.");
        md.AppendLine();
        md.AppendLine("| round | calls each | MCP p50 | MCP p95 | HTTP p50 | HTTP p95 | p50 difference | p95 difference |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Round} | {r.Calls} | {Ms(r.McpP50)} | {Ms(r.McpP95)} | {Ms(r.HttpP50)} | {Ms(r.HttpP95)} | {Ms(r.McpP50 - r.HttpP50)} | {Ms(r.McpP95 - r.HttpP95)} |");
        return md.ToString().TrimEnd();
    }
}

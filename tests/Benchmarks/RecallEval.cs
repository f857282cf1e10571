using System.Globalization;
using System.Text.Json;

namespace Aetherra.Benchmarks;

/// <summary>
/// `aetherra-bench eval-recall DATASET.json` (run through ops/eval-recall): recall quality of the real server on a
/// dataset in the format of shared/datasets/README.md. Each scope is ingested as its own subject through
/// POST /memories/batch, every query runs through POST /recall (subject = its scope, limit 20), and the figures
/// are printed to stdout; the last line is exactly `headline recall@10=&lt;value&gt; n=&lt;queries&gt;`.
/// </summary>
public static class RecallEval
{
    public const string Usage = """
        aetherra-bench eval-recall DATASET.json [--server DLL]   (normally run through ops/eval-recall)

        Environment: AETHERRA_BENCH_DB  connection string of a PostgreSQL server (a fresh database is made on it and dropped)
        """;

    private const int Limit = 20;
    private const string Adversarial = "adversarial";
    private static readonly int[] Ks = [1, 5, 10, 20];

    private sealed record Memory(string Id, string Content, DateTimeOffset? OccurredAt, string[] Tags);
    private sealed record Query(string Id, string Text, string[] Relevant, string Category);
    private sealed record Scope(string Name, Memory[] Memories, Query[] Queries);

    private sealed record Outcome(string Scope, Query Query, double[] RecallAt, double ReciprocalRank, double ClientMs, double TookMs)
    {
        public bool Headline => Query.Category != Adversarial;
        public double At10 => RecallAt[Array.IndexOf(Ks, 10)];
    }

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        string? datasetPath = null, serverDll = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help": Console.WriteLine(Usage); return 0;
                case "--server": serverDll = i + 1 < args.Length ? args[++i] : throw new ArgumentException("--server needs a value"); break;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal) || datasetPath is not null)
                        throw new ArgumentException($"unexpected argument '{args[i]}' (see --help)");
                    datasetPath = args[i];
                    break;
            }
        }
        if (datasetPath is null) throw new ArgumentException("the dataset file is missing (see --help)");
        var (name, scopes) = Load(datasetPath);
        var cluster = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/eval-recall");
        serverDll ??= Paths.DefaultServerDll();
        if (!File.Exists(serverDll)) throw new FileNotFoundException($"the built server is not at {serverDll}: build Release first", serverDll);

        var workDir = Directory.CreateTempSubdirectory("aetherra-eval.").FullName;
        var outcomes = new List<Outcome>();
        await using (var databases = new Databases(cluster))
        {
            ServerProcess? server = null;
            try
            {
                Progress($"starting the server ({serverDll})");
                server = await ServerProcess.StartAsync(serverDll, await databases.CreateAsync("eval", ct), workDir, ct);
                var tenant = "eval-" + Guid.NewGuid().ToString("N")[..8];
                using var client = await RecallClient.ForNewTenantAsync(server, tenant, ct);

                // Ingest: every scope its own subject; the map from dataset id to memory id per scope.
                var ingestStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                var idMaps = new Dictionary<string, Dictionary<string, Guid>>();
                long lastSequence = 0;
                foreach (var scope in scopes)
                {
                    var map = idMaps[scope.Name] = new Dictionary<string, Guid>(StringComparer.Ordinal);
                    foreach (var chunk in scope.Memories.Chunk(1000))
                    {
                        var (ids, sequence) = await client.BatchAsync(Body(scope.Name, chunk), ct);
                        if (ids.Length != chunk.Length) throw new InvalidOperationException($"the batch answered {ids.Length} ids for {chunk.Length} memories");
                        for (var i = 0; i < chunk.Length; i++) map[chunk[i].Id] = ids[i];
                        lastSequence = Math.Max(lastSequence, sequence);
                    }
                }
                var memories = scopes.Sum(s => s.Memories.Length);
                Progress($"ingested {memories} memories in {scopes.Count} subjects in {System.Diagnostics.Stopwatch.GetElapsedTime(ingestStarted).TotalSeconds:0.0} s; " +
                         $"waiting for the recall projection to reach sequence {lastSequence}");
                var waited = await client.WaitForProjectionAsync(scopes[0].Name, lastSequence, TimeSpan.FromMinutes(30), Progress, ct);
                Progress($"projection caught up {waited.TotalSeconds:0.0} s after the last write");

                var unknown = 0;
                foreach (var scope in scopes)
                {
                    var map = idMaps[scope.Name];
                    foreach (var query in scope.Queries)
                    {
                        var answer = await client.RecallAsync(query.Text, scope.Name, Limit, null, ct)
                            ?? throw new InvalidOperationException("/recall answered 503 without minSequence");
                        var ranked = answer.Ids.Distinct().ToList();
                        // A relevant id missing from its scope cannot be found: it stays in the denominator (and is reported).
                        var relevant = query.Relevant.Select(r => map.TryGetValue(r, out var id) ? id : (Guid?)null).ToArray();
                        unknown += relevant.Count(r => r is null);
                        double Found(int k) => relevant.Count(r => r is { } id && ranked.Take(k).Contains(id));
                        var first = ranked.FindIndex(id => relevant.Contains(id));
                        outcomes.Add(new Outcome(scope.Name, query,
                            Ks.Select(k => relevant.Length == 0 ? 0 : Found(k) / relevant.Length).ToArray(),
                            first < 0 ? 0 : 1.0 / (first + 1), answer.ClientMs, answer.TookMs));
                    }
                }
                if (unknown > 0) Progress($"warning: {unknown} relevant id(s) name no memory of their scope; they count as not found");
            }
            catch (Exception) when (server is not null)
            {
                Console.Error.WriteLine($"aetherra-eval: the server's log is {server.LogFile}");
                throw;
            }
            finally
            {
                if (server is not null) await server.DisposeAsync();
            }
        }

        Print(name, scopes, outcomes);
        Directory.Delete(workDir, recursive: true);
        return 0;
    }

    private static void Print(string name, IReadOnlyList<Scope> scopes, List<Outcome> outcomes)
    {
        var headline = outcomes.Where(o => o.Headline).ToList();
        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        string Ms(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        string Row(IReadOnlyList<Outcome> set) =>
            string.Join(" ", Ks.Select((k, i) => $"recall@{k}={F(set.Average(o => o.RecallAt[i]))}")) + $" MRR={F(set.Average(o => o.ReciprocalRank))} n={set.Count}";

        Console.WriteLine($"dataset {name}: {scopes.Sum(s => s.Memories.Length)} memories in {scopes.Count} scopes, {outcomes.Count} queries " +
                          $"({headline.Count} not {Adversarial}); POST /recall, subject = scope, limit {Limit}");
        Console.WriteLine($"all queries:      {Row(outcomes)}");
        Console.WriteLine($"headline queries: {Row(headline)}");
        Console.WriteLine("recall@10 by category:");
        foreach (var group in outcomes.GroupBy(o => o.Query.Category).OrderBy(g => g.Key, StringComparer.Ordinal))
            Console.WriteLine($"  {group.Key,-14} recall@10={F(group.Average(o => o.At10))} MRR={F(group.Average(o => o.ReciprocalRank))} n={group.Count()}");
        Console.WriteLine($"recall@10 by scope (headline queries):");
        foreach (var group in headline.GroupBy(o => o.Scope))
            Console.WriteLine($"  {group.Key,-14} recall@10={F(group.Average(o => o.At10))} n={group.Count()}");
        var client = outcomes.Select(o => o.ClientMs).Order().ToArray();
        var server = outcomes.Select(o => o.TookMs).Order().ToArray();
        Console.WriteLine($"recall latency over {client.Length} queries, one at a time: client p50 {Ms(Nearest(client, 0.50))} ms p95 {Ms(Nearest(client, 0.95))} ms; " +
                          $"server tookMs p50 {Ms(Nearest(server, 0.50))} ms p95 {Ms(Nearest(server, 0.95))} ms");
        Console.WriteLine($"headline recall@10={F(headline.Average(o => o.At10))} n={headline.Count}");
    }

    public static double Nearest(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static (string Name, List<Scope> Scopes) Load(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = json.RootElement;
        var scopes = root.GetProperty("scopes").EnumerateArray().Select(s => new Scope(
            s.GetProperty("scope").GetString()!,
            s.GetProperty("memories").EnumerateArray().Select(m => new Memory(
                m.GetProperty("id").GetString()!,
                m.GetProperty("content").GetString()!,
                m.TryGetProperty("occurredAt", out var at) && at.ValueKind == JsonValueKind.String ? at.GetDateTimeOffset() : null,
                m.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array ? tags.EnumerateArray().Select(t => t.GetString()!).ToArray() : [])).ToArray(),
            s.GetProperty("queries").EnumerateArray().Select(q => new Query(
                q.GetProperty("id").GetString()!,
                q.GetProperty("text").GetString()!,
                q.GetProperty("relevant").EnumerateArray().Select(r => r.GetString()!).ToArray(),
                q.TryGetProperty("category", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "none")).ToArray())).ToList();
        if (scopes.Count == 0) throw new InvalidDataException($"{path} has no scopes");
        var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : Path.GetFileNameWithoutExtension(path);
        return (name, scopes);
    }

    private static byte[] Body(string subject, IEnumerable<Memory> memories)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 * 1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("memories");
            foreach (var m in memories)
            {
                json.WriteStartObject();
                json.WriteString("content", m.Content);
                json.WriteString("subject", subject);
                json.WriteString("agent", "eval");
                json.WriteString("kind", "episode");
                if (m.OccurredAt is { } at) json.WriteString("occurredAt", at);
                json.WriteStartArray("tags");
                foreach (var tag in m.Tags) json.WriteStringValue(tag);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void Progress(string line) => Console.Error.WriteLine($"aetherra-eval: {line}");
}

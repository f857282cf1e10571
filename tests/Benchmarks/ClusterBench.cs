using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Aetherra.Benchmarks;

/// <summary>
/// <c>ops/bench cluster</c> (issue 19): single writes (POST /memories) through one node, then through two nodes of one
/// installation on the same PostgreSQL (the clients split between them); then kill -9 of the node running the recall
/// projection, and how long until (a) a write made through the survivor after the kill is recallable there and (b)
/// every async projection and cluster timer runs on the survivor. Both nodes, PostgreSQL and this driver share the
/// machine's cores: a second node here adds no CPU, so the two-node row says what coordination costs, not what a
/// second machine would add.
/// </summary>
public static class ClusterBench
{
    public const string Usage = """
        ops/bench cluster [options]   write throughput on one node and on two (same PostgreSQL), and the projection hand-over after kill -9
          --clients N             concurrent HTTP clients in all (default 16; split between the nodes)
          --seconds N             length of each measured row (default 10)
          --stale N               AETHERRA_CLUSTER_STALE_SECONDS of both nodes (default 6)
          --bound N               give up on the hand-over after N seconds (default 120)
          --write [PATH]          replace the cluster section of PATH (default docs/benchmarks.md)
          --server DLL            the built server
        """;

    public const string Begin = "<!-- bench-cluster:begin -->";
    public const string End = "<!-- bench-cluster:end -->";

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var (clients, seconds, stale, bound, write, dll) = (16, 10, 6, 120, (string?)null, (string?)null);
        for (var i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--clients": clients = Math.Max(2, int.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                case "--seconds": seconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--stale": stale = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--bound": bound = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--write": write = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : Paths.DefaultDoc(); break;
                case "--server": dll = args[++i]; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }
        var connection = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench cluster.");
        dll ??= Paths.DefaultServerDll();
        var machine = await Machine.DescribeAsync(connection);
        var loadAtStart = Machine.LoadAverage();
        var timing = new Timing(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(seconds), 0, 0, 1);
        var work = Directory.CreateTempSubdirectory("aetherra-bench-cluster.").FullName;
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var auditKey = Path.Combine(work, "audit.key");
        await File.WriteAllTextAsync(auditKey, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), ct);

        await using var databases = new Databases(connection);
        var database = await databases.CreateAsync("cluster", ct);
        var servers = new Dictionary<string, ServerProcess>();
        async Task<ServerProcess> Start(string node)
        {
            var dir = Directory.CreateDirectory(Path.Combine(work, node)).FullName;
            return servers[node] = await ServerProcess.StartAsync(dll, database, dir, ct, new Dictionary<string, string>
            {
                ["AETHERRA_NODE"] = node, ["AETHERRA_CLUSTER_STALE_SECONDS"] = stale.ToString(CultureInfo.InvariantCulture),
                ["AETHERRA_AUDIT_KEY_FILE"] = auditKey, ["AETHERRA_EMBEDDINGS"] = "off", ["AETHERRA_VITALS_SECONDS"] = "0",
                // The capacity of the nodes is measured, not the per-key limit in front of them.
                ["AETHERRA_RATE_LIMIT"] = "off",
            }, masterKey);
        }
        try
        {
            Progress("starting node a (creates the schema and the bootstrap key)");
            var a = await Start("a");
            using var httpA = new HttpScenarios(a, timing, new CpuProbe(() => a.Pid, null));
            await httpA.AuthenticateAsync(ct);
            await httpA.PrimeAsync(ct);
            Progress($"one node: {clients} clients for {seconds} s");
            var one = await httpA.SingleWritesAsync(clients, "one-node", ct);
            Progress($"  {one.OperationsPerSecond:F0}/s p50 {one.P50:F1} ms p99 {one.P99:F1} ms, {one.Errors} errors");

            Progress("starting node b (joins the cluster on the same database)");
            var b = await Start("b");
            using var httpB = new HttpScenarios(b, timing, new CpuProbe(() => b.Pid, null));
            await httpB.AuthenticateAsync(ct, a.AdminKey);
            await httpB.PrimeAsync(ct);
            Progress($"two nodes: {clients / 2} + {clients - clients / 2} clients for {seconds} s");
            var both = await Task.WhenAll(httpA.SingleWritesAsync(clients / 2, "two-nodes-a", ct), httpB.SingleWritesAsync(clients - clients / 2, "two-nodes-b", ct));
            var two = (Rate: both.Sum(m => m.OperationsPerSecond), P50: both.Max(m => m.P50), P99: both.Max(m => m.P99), Errors: both.Sum(m => m.Errors));
            Progress($"  {two.Rate:F0}/s (a {both[0].OperationsPerSecond:F0}, b {both[1].OperationsPerSecond:F0}), {two.Errors} errors");

            var handOver = await HandOverAsync(servers, a.AdminKey, TimeSpan.FromSeconds(bound), ct);
            var markdown = Markdown(machine, loadAtStart, clients, seconds, stale, one, two, both, handOver);
            Console.WriteLine(markdown);
            if (write is { } path)
            {
                Report.WriteSection(path, markdown, Begin, End);
                Progress($"wrote the cluster section of {path}");
            }
            return handOver.Moved is null ? 1 : 0;
        }
        finally
        {
            foreach (var server in servers.Values) await server.DisposeAsync();
        }
    }

    private sealed record HandOver(string Victim, string Survivor, TimeSpan? Recallable, TimeSpan? Moved, string? Failure);

    private static async Task<HandOver> HandOverAsync(Dictionary<string, ServerProcess> servers, string adminKey, TimeSpan bound, CancellationToken ct)
    {
        HttpClient Client(string node, string key)
        {
            var http = new HttpClient { BaseAddress = servers[node].BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return http;
        }
        using var admin = Client("a", adminKey);
        var projections = (await Json(await admin.GetAsync("/admin/projections", ct), ct)).EnumerateArray()
            .Where(p => p.GetProperty("lifecycle").GetString() == "async").Select(p => p.GetProperty("name").GetString()!.ToLowerInvariant()).ToArray();
        bool Placed(JsonElement cluster, string[] nodes) =>
            cluster.GetProperty("nodes").EnumerateArray().All(n => nodes.Contains(n.GetProperty("name").GetString()))
            && cluster.GetProperty("nodes").GetArrayLength() == nodes.Length
            && projections.All(p => RunningOn(cluster, $"/{p}/").Count == 1);
        Progress("waiting for every async projection to be placed on one of the two nodes");
        var placed = await WaitAsync(admin, c => Placed(c, ["a", "b"]), TimeSpan.FromSeconds(120), ct);
        if (placed is null) return new HandOver("?", "?", null, null, "the projections were not placed on the two nodes within 120 s");
        var victim = RunningOn(placed.Value, "/recallentry/").Single();
        var survivor = victim == "a" ? "b" : "a";

        using var survivorAdmin = Client(survivor, adminKey);
        var keyResponse = await survivorAdmin.PostAsJsonAsync("/admin/keys", new { name = "handover", tenant = "handover", scopes = new[] { "memory:read", "memory:write" } }, ct);
        var key = (await Json(keyResponse, ct)).GetProperty("key").GetString()!;
        using var writer = Client(survivor, key);

        Progress($"kill -9 of node {victim} (runs the recall projection); writing and recalling through node {survivor}");
        var clock = Stopwatch.StartNew();
        Process.GetProcessById(servers[victim].Pid!.Value).Kill();
        var marker = "handover" + Guid.NewGuid().ToString("N")[..8];
        var written = await writer.PostAsync("/memories", new StringContent(JsonSerializer.Serialize(new
        {
            content = $"written after the kill {marker}", subject = "after", agent = "bench", kind = "fact"
        }), Encoding.UTF8, "application/json"), ct);
        var record = await Json(written, ct);
        var (id, sequence) = (record.GetProperty("id").GetGuid(), record.GetProperty("sequence").GetInt64());
        TimeSpan? recallable = null;
        while (recallable is null && clock.Elapsed < bound)
        {
            var recall = await writer.PostAsJsonAsync("/recall", new { query = marker, subject = "after", minSequence = sequence }, ct);
            if (recall.StatusCode == HttpStatusCode.OK
                && (await Json(recall, ct)).GetProperty("results").EnumerateArray().Any(r => r.GetProperty("id").GetGuid() == id))
                recallable = clock.Elapsed;
            else if (recall.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable))
                return new HandOver(victim, survivor, null, null, $"recall answered {(int)recall.StatusCode}");
        }
        var moved = await WaitAsync(survivorAdmin, c => Placed(c, [survivor]), bound - clock.Elapsed, ct) is null ? (TimeSpan?)null : clock.Elapsed;
        Progress($"  recallable after {recallable?.TotalSeconds:0.0} s; every projection on {survivor} after {moved?.TotalSeconds:0.0} s");
        return new HandOver(victim, survivor, recallable, moved, moved is null ? $"not moved within {bound.TotalSeconds:0} s" : null);
    }

    private static List<string> RunningOn(JsonElement cluster, string agent) => cluster.GetProperty("nodes").EnumerateArray()
        .Where(n => n.GetProperty("agents").EnumerateArray().Any(a => a.GetString()!.Contains(agent, StringComparison.Ordinal)))
        .Select(n => n.GetProperty("name").GetString()!)
        .ToList();

    private static async Task<JsonElement?> WaitAsync(HttpClient admin, Func<JsonElement, bool> done, TimeSpan within, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + within;
        while (DateTimeOffset.UtcNow < deadline)
        {
            var cluster = await Json(await admin.GetAsync("/admin/cluster", ct), ct);
            if (done(cluster)) return cluster;
            await Task.Delay(250, ct);
        }
        return null;
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string Markdown(Machine machine, string loadAtStart, int clients, int seconds, int stale, Measurement one,
        (double Rate, double P50, double P99, long Errors) two, Measurement[] both, HandOver h)
    {
        string F(double v) => v.ToString("F0", CultureInfo.InvariantCulture);
        string Ms(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        string S(TimeSpan? t) => t is { } x ? x.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "not within the bound";
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"- Command: `{Environment.GetEnvironmentVariable("AETHERRA_BENCH_COMMAND") ?? "ops/bench cluster"}`");
        md.AppendLine(CultureInfo.InvariantCulture, $"- When: {machine.At:yyyy-MM-dd HH:mm} UTC, commit {machine.Commit}; load average (`uptime`) {loadAtStart} at start, {Machine.LoadAverage()} at end");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Machine: {machine.Cpus} CPUs ({machine.CpuModel}), {machine.Memory} RAM; {machine.Os}; {machine.Dotnet}");
        md.AppendLine("- Both nodes, PostgreSQL and the load driver share these CPUs: the second node adds no hardware, so the two-node row measures what running two coordinated nodes costs or gains on the same cores, not the scaling a second machine would give.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Single writes (POST /memories, one tenant, embeddings off, rate limiter off), {clients} clients, {seconds} s per row after a 2 s warm-up:");
        md.AppendLine();
        md.AppendLine("| nodes | writes/s | p50 | p99 | errors |");
        md.AppendLine("|---|---|---|---|---|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| 1 (a) | {F(one.OperationsPerSecond)} | {Ms(one.P50)} ms | {Ms(one.P99)} ms | {one.Errors} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| 2 (a {F(both[0].OperationsPerSecond)} + b {F(both[1].OperationsPerSecond)}) | {F(two.Rate)} | {Ms(two.P50)} ms (worse node) | {Ms(two.P99)} ms (worse node) | {two.Errors} |");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Hand-over after `kill -9` of node {h.Victim} (it ran the recall projection), AETHERRA_CLUSTER_STALE_SECONDS={stale}:");
        md.AppendLine();
        md.AppendLine("| from the kill until | time |");
        md.AppendLine("|---|---|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| a memory written through node {h.Survivor} after the kill is recallable there (the recall projection moved and caught up) | {S(h.Recallable)} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| every async projection runs on node {h.Survivor} (GET /admin/cluster) | {S(h.Moved)} |");
        if (h.Failure is { } failure) md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Failure: {failure}.");
        return md.ToString().TrimEnd();
    }

    private static void Progress(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}

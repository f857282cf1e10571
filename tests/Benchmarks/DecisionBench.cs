using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Aetherra.Benchmarks;

/// <summary>
/// `ops/bench decisions`: issue 4's simulation against the real server over HTTP. An overconfident agent states a
/// confidence c = 1 - u²/2 (u uniform) and succeeds with probability c²; it proposes 50 decisions a round for 20
/// rounds. Escalated decisions are approved by a reviewer (so they still have outcomes for the loop to learn
/// from); then every outcome is recorded, drawn from the true success rate. Per round: the escalation rate, the
/// failure rate of auto-approved decisions, and the threshold. See docs/decisions.md.
/// </summary>
public static class DecisionBench
{
    public const string Usage = """
        aetherra-bench decisions [options]   (normally run through `ops/bench decisions`)

          --seed N         seed of the agent's confidences and outcomes (default 42)
          --rounds N       rounds (default 20), --per-round N decisions a round (default 50)
          --write          replace the decisions sections of docs/decisions.md and docs/benchmarks.md
          --server DLL     the built server (default src/Api/bin/Release/net10.0/aetherra.dll)
        """;

    public const string Begin = "<!-- bench-decisions:begin -->";
    public const string End = "<!-- bench-decisions:end -->";
    private const double Target = 0.9;
    private const double Initial = 0.8;
    private const string Agent = "overconfident";

    private sealed record Round(int Number, int Escalated, int Auto, int AutoFailures, double ThresholdInForce, double ThresholdAtEnd)
    {
        public double EscalationRate(int perRound) => (double)Escalated / perRound;
        public double FailureRate => Auto == 0 ? 0 : (double)AutoFailures / Auto;
    }

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        int seed = 42, rounds = 20, perRound = 50;
        var write = false;
        string? serverDll = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--per-round": perRound = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--write": write = true; break;
                case "--server": serverDll = args[++i]; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }
        }
        var cluster = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench decisions (it starts a throwaway PostgreSQL).");
        serverDll ??= Paths.DefaultServerDll();
        var machine = await Machine.DescribeAsync(cluster);
        var workDir = Directory.CreateTempSubdirectory("aetherra-bench-decisions.").FullName;
        await using var databases = new Databases(cluster);
        var database = await databases.CreateAsync("decisions", ct);
        await using var server = await ServerProcess.StartAsync(serverDll, database, workDir, ct,
            new Dictionary<string, string> { ["AETHERRA_EMBEDDINGS"] = "off" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(1) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            await server.NewKeyAsync("bench", "bench", ["decisions:read", "decisions:write", "decisions:approve"], ct));

        var rng = new Random(seed);
        var results = new List<Round>();
        var threshold = Initial;
        long sequence = 0;
        var clock = Stopwatch.StartNew();
        for (var round = 1; round <= rounds; round++)
        {
            var inForce = threshold;
            var proposed = new List<(Guid Id, double Confidence, bool Auto)>();
            for (var i = 0; i < perRound; i++)
            {
                var c = Math.Round(1 - 0.5 * Math.Pow(rng.NextDouble(), 2), 4);
                var answer = await Send(http, "/decisions", new
                {
                    agent = Agent, category = "purchase", action = $"order item {round}-{i}", confidence = c,
                    rationale = "the agent is sure", risk = "low"
                }, ct);
                var auto = answer.GetProperty("status").GetString() == "approved";
                if (!auto) await Send(http, $"/decisions/{answer.GetProperty("id").GetGuid()}/approve", new { note = "reviewer lets it through" }, ct);
                proposed.Add((answer.GetProperty("id").GetGuid(), c, auto));
            }
            var failures = 0;
            foreach (var (id, c, auto) in proposed)
            {
                var success = rng.NextDouble() < c * c;
                if (auto && !success) failures++;
                var outcome = await Send(http, $"/decisions/{id}/outcome", new { success }, ct);
                threshold = outcome.GetProperty("threshold").GetDouble();
                sequence = outcome.GetProperty("sequence").GetInt64();
            }
            var autoCount = proposed.Count(p => p.Auto);
            results.Add(new Round(round, perRound - autoCount, autoCount, failures, inForce, threshold));
            Console.Error.WriteLine($"aetherra-bench: round {round}: escalated {perRound - autoCount}, auto {autoCount}, auto failures {failures}, threshold {threshold:0.00}");
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var learning = await Get(http, $"/learning/{Agent}?minSequence={sequence}", ct);
        var category = learning.GetProperty("categories")[0];

        var markdown = Markdown(results, perRound, seed, category, seconds, machine);
        Console.WriteLine(markdown);
        if (write)
        {
            Report.WriteSection(Path.Combine(Paths.Root(), "docs", "decisions.md"), markdown, Begin, End);
            Report.WriteSection(Paths.DefaultDoc(), markdown, Begin, End);
        }
        return Pooled(results, 11, rounds) < 1 - Target ? 0 : 1;
    }

    /// <summary>The agent's true failure rate among decisions stated at or above t (m² = 2(1 - t)): m²/3 - m⁴/20.</summary>
    private static double TrueFailure(double t)
    {
        var m2 = 2 * (1 - t);
        return m2 / 3 - m2 * m2 / 20;
    }

    private static double Pooled(IReadOnlyList<Round> rows, int from, int to)
    {
        var part = rows.Where(r => r.Number >= from && r.Number <= to).ToList();
        var auto = part.Sum(r => r.Auto);
        return auto == 0 ? 0 : (double)part.Sum(r => r.AutoFailures) / auto;
    }

    private static string Markdown(IReadOnlyList<Round> rows, int perRound, int seed, JsonElement learning, double seconds, Machine machine)
    {
        static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        static string P(double v) => (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Command: `{Environment.GetEnvironmentVariable("AETHERRA_BENCH_COMMAND") ?? "ops/bench decisions"}` " +
            $"(seed {seed}, {rows.Count} rounds of {perRound}; commit {machine.Commit}, {machine.At:yyyy-MM-dd}, {machine.Cpus} CPUs {machine.CpuModel}, {machine.Postgres}; " +
            $"{rows.Count * perRound:N0} decisions in {seconds:0} s over HTTP).");
        md.AppendLine();
        md.AppendLine("| round | threshold in force | escalated | auto-approved | auto-approved failures | failure rate | true failure rate at the threshold |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Number} | {F(r.ThresholdInForce)} | {P(r.EscalationRate(perRound))} | {r.Auto} | {r.AutoFailures} | {P(r.FailureRate)} | {P(TrueFailure(r.ThresholdInForce))} |");
        md.AppendLine();
        var late = Pooled(rows, 11, rows.Count);
        var firstTrue = rows.FirstOrDefault(r => rows.Where(x => x.Number >= r.Number).All(x => TrueFailure(x.ThresholdInForce) < 1 - Target));
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Failure rate of auto-approved decisions, rounds 11–{rows.Count} pooled: **{P(late)}** " +
            $"({(late < 1 - Target ? "under" : "NOT under")} 1 − target = {P(1 - Target)}); rounds 1–10 pooled: {P(Pooled(rows, 1, 10))}. " +
            $"From round {firstTrue?.Number.ToString(CultureInfo.InvariantCulture) ?? "–"} on, every threshold in force lets through decisions whose true failure rate is under {P(1 - Target)}.");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"GET /learning/{Agent} at the end: threshold {F(learning.GetProperty("threshold").GetDouble())}, " +
            $"{learning.GetProperty("thresholdHistory").GetArrayLength()} adjustments, success rate {F(learning.GetProperty("successRate").GetDouble())}, " +
            $"Brier score {learning.GetProperty("brier").GetDouble().ToString("0.000", CultureInfo.InvariantCulture)}.");
        return md.ToString().TrimEnd();
    }

    private static async Task<JsonElement> Send(HttpClient http, string path, object body, CancellationToken ct)
    {
        using var response = await http.PostAsJsonAsync(path, body, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{(int)response.StatusCode} from {path}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> Get(HttpClient http, string path, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{(int)response.StatusCode} from {path}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}

using System.Globalization;

namespace Aetherra.Benchmarks;

/// <summary>
/// <c>ops/bench ratelimit</c>: single writes (POST /memories, one key of one tenant) against two servers of the
/// same build on the same PostgreSQL, one with the rate limiter at its default limits and one with
/// AETHERRA_RATE_LIMIT=off, measured in alternating rounds so both see the same machine.
/// </summary>
public static class RateLimitBench
{
    public const string Usage = """
        ops/bench ratelimit [options]   single-write rate with the rate limiter on (default limits) beside off
          --clients N             concurrent HTTP clients (default 16)
          --seconds N             length of one measured round (default 10)
          --rounds N              rounds per server, alternating on/off (default 3)
          --server DLL            the built server
        """;

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var (clients, seconds, rounds, dll) = (16, 10, 3, (string?)null);
        for (var i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--clients": clients = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--server": dll = args[++i]; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }
        var cluster = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench ratelimit.");
        dll ??= Paths.DefaultServerDll();
        var timing = new Timing(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(seconds), 0, 0, 1);
        var workDir = Directory.CreateTempSubdirectory("aetherra-bench-ratelimit.").FullName;

        Directory.CreateDirectory(Path.Combine(workDir, "on"));
        Directory.CreateDirectory(Path.Combine(workDir, "off"));
        await using var databases = new Databases(cluster);
        await using var on = await ServerProcess.StartAsync(dll, await databases.CreateAsync("limit_on", ct), Path.Combine(workDir, "on"), ct);
        await using var off = await ServerProcess.StartAsync(dll, await databases.CreateAsync("limit_off", ct), Path.Combine(workDir, "off"), ct,
            new Dictionary<string, string> { ["AETHERRA_RATE_LIMIT"] = "off" });
        using var httpOn = new HttpScenarios(on, timing, new CpuProbe(() => on.Pid, null));
        using var httpOff = new HttpScenarios(off, timing, new CpuProbe(() => off.Pid, null));
        await httpOn.AuthenticateAsync(ct);
        await httpOff.AuthenticateAsync(ct);
        Console.Error.WriteLine("aetherra-bench: priming both servers");
        await httpOn.PrimeAsync(ct);
        await httpOff.PrimeAsync(ct);

        var results = new Dictionary<string, List<Measurement>> { ["on"] = [], ["off"] = [] };
        for (var round = 1; round <= rounds; round++)
            foreach (var (name, http) in new[] { ("on", httpOn), ("off", httpOff) })
            {
                var m = await http.SingleWritesAsync(clients, $"rate-{name}-r{round}", ct);
                results[name].Add(m);
                Console.Error.WriteLine($"aetherra-bench: round {round} limiter {name}: {m.OperationsPerSecond:F0}/s p50 {m.P50:F1} ms p99 {m.P99:F1} ms, {m.Errors} errors{(m.FirstError is null ? "" : " (first: " + m.FirstError + ")")}");
            }

        Console.WriteLine($"single writes, {clients} clients, {rounds} alternating rounds of {seconds} s per server (after 2 s warm-up each)");
        Console.WriteLine("| limiter | writes/s (mean of rounds) | rounds | p50 ms | p99 ms | errors (429 or other) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, list) in results)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(name == "on" ? "on (default limits)" : "off (AETHERRA_RATE_LIMIT=off)")} | {list.Average(m => m.OperationsPerSecond):F0} | {string.Join(", ", list.Select(m => m.OperationsPerSecond.ToString("F0", CultureInfo.InvariantCulture)))} | {list.Average(m => m.P50):F1} | {list.Average(m => m.P99):F1} | {list.Sum(m => m.Errors)} |"));
        return 0;
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Aetherra.Benchmarks;

/// <summary>
/// `ops/bench tasks`: claims per second through POST /tasks/claim (HTTP, auth, the SKIP LOCKED row lock on the
/// TaskQueue, the claim event, its inline projection and its audit record, one transaction) at 1, 8 and 32
/// concurrent claimers, beside a raw `SELECT ... FOR UPDATE SKIP LOCKED` + UPDATE queue on the same PostgreSQL in
/// the same run. Tasks have mixed priorities (0-9); every claim must succeed and no task may be claimed twice.
/// </summary>
public static class TaskBench
{
    public const string Usage = """
        aetherra-bench tasks [options]   (normally run through `ops/bench tasks`)

          --tasks N        tasks claimed per row (default 1500)
          --quick          a smoke run: 300 tasks per row (seconds; not figures to quote)
          --clients LIST   concurrent claimers per row (default 1,8,32)
          --write          replace the tasks section of docs/benchmarks.md
          --server DLL     the built server (default src/Api/bin/Release/net10.0/aetherra.dll)
          --warm N         untimed claims at each concurrency before the rows, on both sides (default: the row's
                           tasks, 1,500; with --quick 300; 300 before issue 17's warm-up change)
          --pause MS       each claimer waits MS ms before each timed claim, on both sides (default 0): a low claim
                           rate, where the async daemon's per-poll work weighs most on each claim (its CPU per claim);
                           the rates and latencies then include the pauses and are not figures to quote
        """;

    public const string Begin = "<!-- bench-tasks:begin -->";
    public const string End = "<!-- bench-tasks:end -->";

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var tasks = 1500;
        int[] clients = [1, 8, 32];
        var write = false;
        var quick = false;
        string? serverDll = null;
        var pause = 0;
        int? warmArg = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--tasks": tasks = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--clients": clients = args[++i].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--write": write = true; break;
                case "--quick": quick = true; tasks = 300; break;
                case "--server": serverDll = args[++i]; break;
                case "--warm": warmArg = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--pause": pause = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }
        }
        var cluster = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench tasks (it starts a throwaway PostgreSQL).");
        serverDll ??= Paths.DefaultServerDll();
        var machine = await Machine.DescribeAsync(cluster);
        var workDir = Directory.CreateTempSubdirectory("aetherra-bench-tasks.").FullName;
        await using var databases = new Databases(cluster);
        await using var server = await ServerProcess.StartAsync(serverDll, await databases.CreateAsync("tasks", ct), workDir, ct,
            new Dictionary<string, string> { ["AETHERRA_EMBEDDINGS"] = "off" });
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })
        {
            BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(1)
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            await server.NewKeyAsync("bench", "bench", ["tasks:read", "tasks:write"], ct));
        await using var raw = NpgsqlDataSource.Create(await databases.CreateAsync("rawqueue", ct));
        // CPU per claim, the server's and PostgreSQL's (all its processes), beside the rates: on a shared machine the
        // rates swing with the load, the work per claim much less.
        var probe = new CpuProbe(() => server.Pid, Machine.PostmasterPid());

        var rows = new List<(Measurement Aetherra, Measurement Raw)>();
        var rng = new Random(7);
        // Untimed: the server's JIT and pools warm up first, as many claims as a row at each concurrency the rows use,
        // and so does the raw side's code in this driver. Then the server is let settle (see SettleAsync). With 300 claims
        // per concurrency (before issue 17's warm-up change) the first row still carried the JIT's tier-up of the
        // per-claim path (Warm below).
        var warm = Math.Max(warmArg ?? tasks, 1);
        Console.Error.WriteLine($"aetherra-bench: warming up, {warm} untimed claims per concurrency on each side");
        await SeedAsync(http, warm * clients.Length, rng, ct);
        foreach (var c in clients)
            await Load.ForCountAsync(c, warm, _ => token => ClaimAsync(http, "warm", new ConcurrentDictionary<Guid, byte>(), token), 0, probe, ct);
        await RawSeedAsync(raw, warm * clients.Length, rng, ct);
        foreach (var c in clients)
            await Load.ForCountAsync(c, warm, _ => token => RawClaimAsync(raw, "warm", new ConcurrentDictionary<long, byte>(), token), 0, probe, ct);
        foreach (var c in clients)
        {
            Console.Error.WriteLine($"aetherra-bench: {tasks} tasks, {c} claimer(s)");
            await SeedAsync(http, tasks, rng, ct);
            await RawSeedAsync(raw, tasks, rng, ct);
            Console.Error.WriteLine($"aetherra-bench:   seeded; {await SettleAsync(server.Pid, ct)}; claiming over HTTP");
            var claimed = new ConcurrentDictionary<Guid, byte>();
            var claimBackends = await BackendSecondsAsync(raw, ClaimBackends, ct);
            var viaHttp = await Load.ForCountAsync(c, tasks, i => async token => { await Pause(pause, token); return await ClaimAsync(http, $"agent-{i % c}", claimed, token); }, 1, probe, ct);
            claimBackends = await BackendSecondsAsync(raw, ClaimBackends, ct) - claimBackends;
            if (claimed.Count != viaHttp.Operations) throw new InvalidOperationException($"{viaHttp.Operations} claims but {claimed.Count} distinct tasks");
            Console.Error.WriteLine($"aetherra-bench:   POST /tasks/claim {viaHttp.OperationsPerSecond:F0}/s p50 {viaHttp.P50:F1} ms p99 {viaHttp.P99:F1} ms, errors {viaHttp.Errors}{Cpu(viaHttp)}{Backends(claimBackends, viaHttp)}");

            Console.Error.WriteLine($"aetherra-bench:   {await SettleAsync(server.Pid, ct)}; claiming raw");
            var rawClaimed = new ConcurrentDictionary<long, byte>();
            var rawBackends = await BackendSecondsAsync(raw, RawBackends, ct);
            var viaRaw = await Load.ForCountAsync(c, tasks, i => async token => { await Pause(pause, token); return await RawClaimAsync(raw, $"agent-{i % c}", rawClaimed, token); }, 1, probe, ct);
            rawBackends = await BackendSecondsAsync(raw, RawBackends, ct) - rawBackends;
            if (rawClaimed.Count != viaRaw.Operations) throw new InvalidOperationException("the raw queue handed a row out twice");
            Console.Error.WriteLine($"aetherra-bench:   raw SKIP LOCKED {viaRaw.OperationsPerSecond:F0}/s p50 {viaRaw.P50:F1} ms p99 {viaRaw.P99:F1} ms{Cpu(viaRaw)}{Backends(rawBackends, viaRaw)}");
            rows.Add((viaHttp, viaRaw));
        }

        var markdown = Markdown(rows, tasks, warm, machine, quick);
        Console.WriteLine(markdown);
        if (write) Report.WriteSection(Paths.DefaultDoc(), markdown, Begin, End);
        // AETHERRA_BENCH_LOG=PATH keeps the server's log (e.g. the claim's step timings with AETHERRA_LOG_DEBUG).
        if (Environment.GetEnvironmentVariable("AETHERRA_BENCH_LOG") is { Length: > 0 } keep)
        {
            await server.DisposeAsync();
            File.Copy(server.LogFile, keep, overwrite: true);
        }
        Directory.Delete(workDir, recursive: true);
        return rows.Any(r => r.Aetherra.Errors > 0 || r.Raw.Errors > 0) ? 1 : 0;
    }

    private static Task Pause(int ms, CancellationToken ct) => ms > 0 ? Task.Delay(ms, ct) : Task.CompletedTask;

    // The untimed warm-up (--warm): as many claims per concurrency as a timed row. With 300 (before), `perf` found 69 % of the
    // server's samples on the JIT's tiered-compilation thread 1 s into the first (one-claimer) row and 0.4 % in a second
    // one-claimer row of the same run; the first row's server CPU per claim was about twice the second's
    // (docs/benchmarks.md, "The daemon's empty pages, and the warm-up").

    /// <summary>
    /// Waits until the server is quiet: under <see cref="QuietShare"/> of one core over a second, at most
    /// <see cref="MaxSettle"/>. After a start, a warm-up or a seeding the server still works for a while with no
    /// request in flight: the JIT's background tier-up of the code just run (dynamic PGO compiles hot methods again,
    /// instrumented, then optimised), and the async daemon projecting the events just written (a seeding of 1,500
    /// tasks is 3,000 events). Measured right away, that work lands in the next row, on either side (the server
    /// runs beside the raw queue too, on the same two cores): each timed phase starts from a quiet server instead.
    /// The daemon's work on a row's own claims stays in that row, as far as it keeps up.
    /// </summary>
    private static async Task<string> SettleAsync(int? serverPid, CancellationToken ct)
    {
        if (serverPid is not { } pid || !File.Exists($"/proc/{pid}/stat")) return "not settled (no /proc)";
        var started = Stopwatch.GetTimestamp();
        var last = ProcessSeconds(pid);
        while (Stopwatch.GetElapsedTime(started) < MaxSettle)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            var now = ProcessSeconds(pid);
            var share = now - last;
            last = now;
            if (share < QuietShare)
                return string.Create(CultureInfo.InvariantCulture, $"server settled in {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
        }
        return string.Create(CultureInfo.InvariantCulture, $"server not quiet after {MaxSettle.TotalSeconds:F0} s");
    }

    private const double QuietShare = 0.10;
    private static readonly TimeSpan MaxSettle = TimeSpan.FromSeconds(45);

    private static double ProcessSeconds(int pid)
    {
        var text = File.ReadAllText($"/proc/{pid}/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / 100;
    }

    // The backends that do each side's claims: the server's claim pool (its sessions' application_name) and the raw
    // queue's database. Their CPU per claim leaves out the async daemon's backends and the cluster's own processes,
    // which the PostgreSQL figure of Cpu() includes; a backend that closes during a phase takes its CPU with it.
    private const string ClaimBackends = "application_name = 'aetherra-claim'";
    private const string RawBackends = "datname = current_database()";

    /// <summary>CPU seconds so far of the backends <paramref name="where"/> selects (0 without /proc).</summary>
    private static async Task<double> BackendSecondsAsync(NpgsqlDataSource db, string where, CancellationToken ct)
    {
        var pids = new List<int>();
        await using (var cmd = db.CreateCommand($"select pid from pg_stat_activity where {where}"))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) pids.Add(reader.GetInt32(0));
        double seconds = 0;
        foreach (var pid in pids)
        {
            try { seconds += ProcessSeconds(pid); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return seconds;
    }

    private static string Backends(double seconds, Measurement m) => m.Operations > 0 && seconds > 0
        ? string.Create(CultureInfo.InvariantCulture, $"; its own backends {seconds * 1000 / m.Operations:F2} ms")
        : "";

    private static string Cpu(Measurement m) => m.Cpu is { } cpu
        ? string.Create(CultureInfo.InvariantCulture,
            $"; CPU per claim: server {cpu.ServerMs:F2} ms, PostgreSQL {cpu.PostgresMs:F2} ms, driver {cpu.DriverMs:F2} ms (machine {cpu.MachineBusy:P0} busy)")
        : "";


    private static async Task SeedAsync(HttpClient http, int count, Random rng, CancellationToken ct)
    {
        var priorities = Enumerable.Range(0, count).Select(_ => rng.Next(0, 10)).ToArray();
        await Load.ForCountAsync(16, count, i => async token =>
        {
            using var response = await http.PostAsJsonAsync("/tasks", new { title = $"task {i}", priority = priorities[i], input = new { n = i } }, token);
            return response.StatusCode == HttpStatusCode.Created;
        }, 0, new CpuProbe(() => null, null), ct);
    }

    private static async Task<bool> ClaimAsync(HttpClient http, string agent, ConcurrentDictionary<Guid, byte> claimed, CancellationToken ct)
    {
        using var response = await http.PostAsJsonAsync("/tasks/claim", new { agent, leaseSeconds = 3600 }, ct);
        if (response.StatusCode != HttpStatusCode.OK) throw new HttpRequestException($"claim answered {(int)response.StatusCode}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        if (!claimed.TryAdd(body.GetProperty("id").GetGuid(), 0)) throw new InvalidOperationException("a task was claimed twice");
        return true;
    }

    private static async Task RawSeedAsync(NpgsqlDataSource raw, int count, Random rng, CancellationToken ct)
    {
        await using (var ddl = raw.CreateCommand("""
            drop table if exists raw_queue;
            create table raw_queue (id bigserial primary key, priority int not null, status text not null, claimed_by text,
                                    lease_until timestamptz, input jsonb);
            create index raw_queue_ready on raw_queue (priority desc, id) where status = 'queued';
            """))
            await ddl.ExecuteNonQueryAsync(ct);
        await using var cmd = raw.CreateCommand(
            "insert into raw_queue (priority, status, input) select ($1::int[])[g], 'queued', jsonb_build_object('n', g) from generate_series(1, $2) g");
        cmd.Parameters.Add(new() { Value = Enumerable.Range(0, count).Select(_ => rng.Next(0, 10)).ToArray() });
        cmd.Parameters.Add(new() { Value = count });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    // The queue everyone writes by hand: lock the best ready row, mark it, commit.
    private static async Task<bool> RawClaimAsync(NpgsqlDataSource raw, string agent, ConcurrentDictionary<long, byte> claimed, CancellationToken ct)
    {
        await using var connection = await raw.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var cmd = new NpgsqlCommand("""
            update raw_queue set status = 'claimed', claimed_by = $1, lease_until = now() + interval '1 hour'
            where id = (select id from raw_queue where status = 'queued' order by priority desc, id limit 1 for update skip locked)
            returning id
            """, connection, tx);
        cmd.Parameters.Add(new() { Value = agent });
        var id = await cmd.ExecuteScalarAsync(ct) as long? ?? throw new InvalidOperationException("the raw queue ran dry");
        await tx.CommitAsync(ct);
        if (!claimed.TryAdd(id, 0)) throw new InvalidOperationException("a row was claimed twice");
        return true;
    }

    private static string Markdown(IReadOnlyList<(Measurement Aetherra, Measurement Raw)> rows, int tasks, int warm, Machine machine, bool quick)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Command: `{Environment.GetEnvironmentVariable("AETHERRA_BENCH_COMMAND") ?? "ops/bench tasks"}` ({tasks:N0} tasks of priorities 0–9 per row, " +
            $"claimed with no completion, after {warm:N0} untimed claims per concurrency on each side; commit {machine.Commit}, {machine.At:yyyy-MM-dd}, {machine.Cpus} CPUs {machine.CpuModel}, {machine.Postgres})" +
            $"{(quick ? " (--quick: a smoke run, not figures to quote)." : ".")}");
        md.AppendLine();
        md.AppendLine("| claimers | POST /tasks/claim /s | p50 ms | p99 ms | raw SKIP LOCKED /s | p50 ms | p99 ms | ratio |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (a, r) in rows)
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {a.Concurrency} | {a.OperationsPerSecond:F0} | {a.P50:F1} | {a.P99:F1} | {r.OperationsPerSecond:F0} | {r.P50:F1} | {r.P99:F1} | {a.OperationsPerSecond / r.OperationsPerSecond:F2} |");
        return md.ToString().TrimEnd();
    }
}

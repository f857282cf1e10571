using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;

namespace Aetherra.Benchmarks;

/// <summary>
/// `ops/bench recall`: recall latency through POST /recall beside raw full-text SQL over the same
/// aetherra.recall_entries table in the same run, at growing sizes of one tenant, and the RecallEntry
/// projection's catch-up rate with and without embeddings. See docs/benchmarks.md ("Recall").
/// </summary>
public static class RecallBench
{
    public const string Usage = """
        aetherra-bench recall [options]   (normally run through `ops/bench recall`)

          --quick                 a smoke run: sizes 10000,30000, hybrid 500, 200 queries (not figures to quote)
          --sizes LIST            tenant sizes of the full-text rows, ingested in turn (default 100000,1000000; none skips them)
          --hybrid N              memories embedded for the hybrid row and the embedding catch-up (default 5000; 0 skips);
                                  --hybrid 100000 measures issue 23's target (about 6 minutes of embedding at ~300/s,
                                  waited for by the projection's progress)
          --queries N             timed queries per row and side (default 1000), after --warm-queries (default 100)
          --subjects N            subjects of the tenant; memory i belongs to subject i mod N (default 100)
          --ingest-clients N      concurrent POST /memories/batch requests while ingesting (default 2)
          --seed N                seed of the synthetic memories and queries (default 42)
          --write [PATH]          replace the recall section of PATH (default docs/benchmarks.md)
          --server DLL            the built server (default src/Api/bin/Release/net10.0/aetherra.dll)
        """;

    public const string Begin = "<!-- bench-recall:begin -->";
    public const string End = "<!-- bench-recall:end -->";
    private const string Tenant = "bench";
    private const int Limit = 10;
    private const string Progression = "RecallEntry:All";

    private sealed record Opts(
        long[] Sizes, int Hybrid, int Queries, int WarmQueries, int Subjects, int IngestClients, int Seed, string? Write, string? ServerDll,
        bool Quick, string[] Args);

    private sealed record Ingest(string Database, long From, long To, double Seconds, double CaughtUpAfterSeconds);
    private sealed record CatchUp(string Embeddings, long Backlog, double StartDelaySeconds, double Seconds, double MemoriesPerSecond);
    private sealed record Latency(
        string Mode, long Memories, int Subjects, double[] ClientMs, double[] ServerMs, double[] RawAndMs, double[] RawOrMs,
        double RecallRows, double RawAndRows, double RawOrRows);

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var o = Parse(args);
        if (o is null)
        {
            Console.WriteLine(Usage);
            return 0;
        }
        var cluster = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench recall (it starts a throwaway PostgreSQL).");
        var serverDll = o.ServerDll ?? Paths.DefaultServerDll();
        if (!File.Exists(serverDll)) throw new FileNotFoundException($"the built server is not at {serverDll}: build Release first", serverDll);

        var machine = await Machine.DescribeAsync(cluster);
        var loadAtStart = Machine.LoadAverage();
        var data = new Synthetic(o.Seed, o.Subjects);
        var ingests = new List<Ingest>();
        var catchUps = new List<CatchUp>();
        var latencies = new List<Latency>();
        var workDir = Directory.CreateTempSubdirectory("aetherra-bench-recall.").FullName;
        var off = new Dictionary<string, string> { ["AETHERRA_EMBEDDINGS"] = "off" };
        var on = new Dictionary<string, string> { ["AETHERRA_EMBEDDINGS"] = "on" };

        await using (var databases = new Databases(cluster))
        {
            // 1. Full text at scale: the server without embeddings (MiniLM embeds ~300 texts/s here; a million is an hour).
            Run run;
            if (o.Sizes.Length > 0)
            {
                run = await Run.StartAsync(serverDll, await databases.CreateAsync("recall", ct), workDir, off, ct);
                try
                {
                    long have = 0;
                    foreach (var size in o.Sizes)
                    {
                        ingests.Add(await run.IngestAsync(data, "full text", have, size, o.IngestClients, ct));
                        have = size;
                        if (catchUps.Count == 0)
                        {
                            await run.RestartFromZeroAsync(off, ct);
                            catchUps.Add(await run.CatchUpAsync("off", size, ct));
                        }
                        latencies.Add(await run.LatencyAsync(data, "full text (embeddings off)", size, o, ct));
                    }
                }
                finally { await run.DisposeAsync(); }
            }

            // 2. Hybrid (100,000 embed in about 6 minutes at ~300/s): ingested without embeddings, then the projection
            //    starts over from zero with them, so the catch-up is the projection's alone.
            if (o.Hybrid > 0)
            {
                run = await Run.StartAsync(serverDll, await databases.CreateAsync("hybrid", ct), workDir, off, ct);
                try
                {
                    ingests.Add(await run.IngestAsync(data, "hybrid", 0, o.Hybrid, o.IngestClients, ct));
                    await run.RestartFromZeroAsync(on, ct);
                    catchUps.Add(await run.CatchUpAsync("on (MiniLM)", o.Hybrid, ct));
                    latencies.Add(await run.LatencyAsync(data, "hybrid (embeddings on)", o.Hybrid, o, ct));
                }
                finally { await run.DisposeAsync(); }
            }
        }

        var markdown = Markdown(o, machine, loadAtStart, ingests, catchUps, latencies);
        Console.WriteLine(markdown);
        if (o.Write is { } path)
        {
            Report.WriteSection(path, markdown, Begin, End);
            Progress($"wrote the results into {path}");
        }
        // AETHERRA_BENCH_KEEP_LOGS=DIR keeps the servers' logs (e.g. with AETHERRA_LOG_DEBUG=Aetherra.Application.Recall.RecallProjection,
        // the projection's time per page).
        if (Environment.GetEnvironmentVariable("AETHERRA_BENCH_KEEP_LOGS") is { Length: > 0 } keep)
        {
            Directory.CreateDirectory(keep);
            foreach (var log in Directory.EnumerateFiles(workDir, "server-*.log", SearchOption.AllDirectories))
                File.Copy(log, Path.Combine(keep, Path.GetFileName(Path.GetDirectoryName(log)) + "-" + Path.GetFileName(log)), overwrite: true);
        }
        Directory.Delete(workDir, recursive: true);
        return 0;
    }

    /// <summary>The threads of a process counted by nice, with the names of those not at 0 (Linux).</summary>
    private static string ThreadNices(int pid)
    {
        var threads = new List<(string Name, int Nice)>();
        foreach (var dir in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                threads.Add((name, int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16])));
            }
            catch (IOException)
            {
            }
        return string.Join("; ", threads.GroupBy(t => t.Nice).OrderBy(g => g.Key).Select(g =>
            $"nice {g.Key}: {g.Count()} threads" + (g.Key == 0 ? "" : $" ({string.Join(", ", g.Select(t => t.Name))})")));
    }


    /// <summary>One database, its server process (restartable with the same master key) and a raw connection to it.</summary>
    private sealed class Run : IAsyncDisposable
    {
        private readonly string _dll, _database, _workDir, _masterKey;
        private readonly NpgsqlDataSource _raw;
        private ServerProcess _server;
        private RecallClient _client;

        private Run(string dll, string database, string workDir, string masterKey, ServerProcess server, RecallClient client)
        {
            (_dll, _database, _workDir, _masterKey, _server, _client) = (dll, database, workDir, masterKey, server, client);
            _raw = NpgsqlDataSource.Create(database);
        }

        public static async Task<Run> StartAsync(string dll, string database, string workDir, Dictionary<string, string> env, CancellationToken ct)
        {
            var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            var dir = Directory.CreateDirectory(Path.Combine(workDir, "run-" + Guid.NewGuid().ToString("N")[..8])).FullName;
            Progress($"starting the server on a fresh database ({string.Join(", ", env.Select(e => $"{e.Key}={e.Value}"))})");
            var server = await ServerProcess.StartAsync(dll, database, dir, ct, env, masterKey);
            try
            {
                var client = await RecallClient.ForNewTenantAsync(server, Tenant, ct);
                return new Run(dll, database, dir, masterKey, server, client);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        public async Task<Ingest> IngestAsync(Synthetic data, string name, long from, long to, int clients, CancellationToken ct)
        {
            Progress($"generating memories {from:N0}..{to:N0}");
            var bodies = data.Bodies(from, to).ToArray();
            Progress($"ingesting {to - from:N0} memories by POST /memories/batch (1,000 per request, {clients} client(s))");
            var next = -1;
            long last = 0;
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < bodies.Length)
                {
                    var (_, sequence) = await _client.BatchAsync(bodies[i], ct);
                    lock (bodies) last = Math.Max(last, sequence);
                    if (i > 0 && i % 100 == 0) Progress($"  {(long)i * 1000 + from:N0} memories");
                }
            }, ct)));
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            Progress($"  {(to - from) / seconds:N0} memories/s; waiting for the recall projection");
            var waited = Stopwatch.GetTimestamp();
            await WaitForAsync(last, _ => { }, ct);
            var after = Stopwatch.GetElapsedTime(waited).TotalSeconds;
            Progress($"  projection caught up {after:0.0} s after the last write");
            return new Ingest(name, from, to, seconds, after);
        }

        /// <summary>Stops the server, drops the RecallEntry read model and its progress, and starts the server again.</summary>
        public async Task RestartFromZeroAsync(Dictionary<string, string> env, CancellationToken ct)
        {
            _client.Dispose();
            await _server.DisposeAsync();
            await using (var cmd = _raw.CreateCommand($"""
                delete from aetherra.mt_event_progression where name = '{Progression}';
                truncate aetherra.recall_entries, aetherra.recall_terms, aetherra.recall_subjects;
                delete from aetherra.recall_state;
                """))
                await cmd.ExecuteNonQueryAsync(ct);
            Progress($"restarting the server with an empty RecallEntry ({string.Join(", ", env.Select(e => $"{e.Key}={e.Value}"))})");
            _server = await ServerProcess.StartAsync(_dll, _database, _workDir, ct, env, _masterKey);
            _client = RecallClient.ForKey(_server, _client.Key);
        }

        /// <summary>
        /// The projection working off its whole backlog (no writes meanwhile): memories per second from the server
        /// being ready to the projection reaching the store's last event. That includes the few seconds until
        /// the daemon's agent is assigned (reported apart: time to the first visible progress, which also holds
        /// the first daemon batch).
        /// </summary>
        public async Task<CatchUp> CatchUpAsync(string embeddings, long memories, CancellationToken ct)
        {
            var target = await ScalarAsync("select coalesce(max(seq_id), 0) from aetherra.mt_events", ct);
            var started = Stopwatch.GetTimestamp();
            long firstAt = 0;
            var probe = new CpuProbe(() => _server.Pid, Machine.PostmasterPid());
            var cpuFrom = probe.Sample();
            var threadsSeen = false;
            await WaitForAsync(target, position =>
            {
                if (firstAt == 0 && position > 0) firstAt = Stopwatch.GetTimestamp();
                // Midway, the server's threads by OS priority: the projection's embedding workers run at AETHERRA_EMBED_NICE.
                if (!threadsSeen && position > target / 2 && _server.Pid is { } pid)
                {
                    threadsSeen = true;
                    Progress($"  server threads midway by nice: {ThreadNices(pid)}");
                }
            }, ct);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var rate = memories / seconds;
            Progress($"  catch-up with embeddings {embeddings}: {rate:N0} memories/s ({memories:N0} in {seconds:0.0} s)");
            if (CpuUse.Between(cpuFrom, probe.Sample(), memories) is { } cpu)
                Progress($"  CPU per memory during the catch-up: server {cpu.ServerMs:F2} ms, PostgreSQL {cpu.PostgresMs:F2} ms, " +
                         $"others {cpu.OtherMs:F2} ms; machine busy {cpu.MachineBusy:P0}; load average {Machine.LoadAverage()}");
            return new CatchUp(embeddings, memories, Stopwatch.GetElapsedTime(started, firstAt).TotalSeconds, seconds, rate);
        }

        public async Task<Latency> LatencyAsync(Synthetic data, string mode, long memories, Opts o, CancellationToken ct)
        {
            Progress($"recall latency at {memories:N0} memories ({mode}): {o.WarmQueries} + {o.Queries} queries, each through POST /recall and both raw SQL queries");
            await using var and = _raw.CreateCommand("""
                select memory_id from aetherra.recall_entries
                where tenant_id = $1 and subject = $2 and tsv @@ plainto_tsquery('english', $3)
                order by ts_rank(tsv, plainto_tsquery('english', $3)) desc limit 10
                """);
            await using var or = _raw.CreateCommand("""
                with q as (select replace(plainto_tsquery('english', $3)::text, ' & ', ' | ')::tsquery as q)
                select memory_id from aetherra.recall_entries, q
                where tenant_id = $1 and subject = $2 and tsv @@ q.q
                order by ts_rank(tsv, q.q) desc limit 10
                """);
            var client = new List<double>(); var server = new List<double>(); var rawAnd = new List<double>(); var rawOr = new List<double>();
            long recallRows = 0, andRows = 0, orRows = 0;
            for (var q = 0; q < o.WarmQueries + o.Queries; q++)
            {
                var (text, subject) = data.Query(q, memories);
                var answer = await _client.RecallAsync(text, subject, Limit, null, ct)
                    ?? throw new InvalidOperationException("/recall answered 503 without minSequence");
                var (andMs, andCount) = await TimeAsync(and, subject, text, ct);
                var (orMs, orCount) = await TimeAsync(or, subject, text, ct);
                if (q < o.WarmQueries) continue;
                client.Add(answer.ClientMs); server.Add(answer.TookMs); rawAnd.Add(andMs); rawOr.Add(orMs);
                recallRows += answer.Ids.Length; andRows += andCount; orRows += orCount;
            }
            double[] Sorted(List<double> l) => l.Order().ToArray();
            var row = new Latency(mode, memories, data.Subjects, Sorted(client), Sorted(server), Sorted(rawAnd), Sorted(rawOr),
                (double)recallRows / o.Queries, (double)andRows / o.Queries, (double)orRows / o.Queries);
            Progress($"  /recall p50 {Ms(P(row.ClientMs, 0.5))} p95 {Ms(P(row.ClientMs, 0.95))} p99 {Ms(P(row.ClientMs, 0.99))}; " +
                     $"raw AND p95 {Ms(P(row.RawAndMs, 0.95))}; raw OR p95 {Ms(P(row.RawOrMs, 0.95))}");
            return row;
        }

        private static async Task<(double Ms, int Rows)> TimeAsync(NpgsqlCommand cmd, string subject, string text, CancellationToken ct)
        {
            cmd.Parameters.Clear();
            cmd.Parameters.Add(new() { Value = Tenant });
            cmd.Parameters.Add(new() { Value = subject });
            cmd.Parameters.Add(new() { Value = text });
            var started = Stopwatch.GetTimestamp();
            var rows = 0;
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct)) rows++;
            return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, rows);
        }

        /// <summary>Polls the projection's progression row (every 100 ms) until it reaches <paramref name="sequence"/>.</summary>
        private async Task WaitForAsync(long sequence, Action<long> seen, CancellationToken ct)
        {
            var started = Stopwatch.GetTimestamp();
            var reported = 0;
            while (true)
            {
                var position = await ScalarAsync(
                    $"select coalesce((select last_seq_id from aetherra.mt_event_progression where name = '{Progression}'), 0)", ct);
                seen(position);
                if (position >= sequence) return;
                var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (elapsed > 3 * 3600) throw new TimeoutException($"the recall projection did not reach {sequence} in 3 hours");
                if ((int)(elapsed / 15) > reported)
                {
                    reported = (int)(elapsed / 15);
                    Progress($"  projection at {position:N0} of {sequence:N0} events ({elapsed:0} s)");
                }
                await Task.Delay(100, ct);
            }
        }

        private async Task<long> ScalarAsync(string sql, CancellationToken ct)
        {
            await using var cmd = _raw.CreateCommand(sql);
            return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await _server.DisposeAsync();
            await _raw.DisposeAsync();
        }
    }

    private static string Markdown(Opts o, Machine machine, string loadAtStart, List<Ingest> ingests, List<CatchUp> catchUps, List<Latency> latencies)
    {
        var command = Environment.GetEnvironmentVariable("AETHERRA_BENCH_COMMAND") ?? "aetherra-bench recall " + string.Join(' ', o.Args);
        var md = new StringBuilder();
        md.AppendLine($"Command: `{command.Trim()}`").AppendLine();
        md.AppendLine($"- When: {machine.At:yyyy-MM-dd HH:mm} UTC, commit {machine.Commit}");
        md.AppendLine($"- Machine: {machine.Cpus} CPUs ({machine.CpuModel}), {machine.Memory} RAM; {machine.Os}; {machine.Dotnet}");
        md.AppendLine($"- Store: {machine.Postgres}, a throwaway cluster on this machine; connections: {machine.ConnectionOptions}");
        md.AppendLine($"- Load average (1 min): {loadAtStart} before the run, {Machine.LoadAverage()} at its end");
        md.AppendLine($"- Data: one tenant, {o.Subjects} subjects (memory i in subject i mod {o.Subjects}), synthetic memories of 8-24 Zipf-distributed words (seed {o.Seed}), practically all distinct; " +
                      $"queries of 2-4 words, each for one subject; {o.Queries} timed queries per row after {o.WarmQueries} untimed, one at a time" +
                      (o.Quick ? " (--quick: a smoke run, not figures to quote)" : ""));

        md.AppendLine().AppendLine("Recall latency: `POST /recall` (limit 10, subject set; client-side, and the server's own `tookMs`) beside, " +
                                   "for the same query in the same loop, raw SQL over the same `aetherra.recall_entries` on a direct connection: " +
                                   "**AND** = `tsv @@ plainto_tsquery` ordered by `ts_rank`, limit 10; **OR** = the same lexemes ORed (as recall's BM25 candidates are):").AppendLine();
        md.AppendLine("| memories | per subject | recall | /recall p50 | p95 | p99 | tookMs p95 | raw AND p50 | p95 | p99 | raw OR p50 | p95 | p99 | rows /recall · AND · OR | p95 /recall ÷ AND | ÷ OR |");
        md.AppendLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var l in latencies)
            md.AppendLine($"| {N(l.Memories)} | {N(l.Memories / l.Subjects)} | {l.Mode} | {Ms(P(l.ClientMs, .5))} | {Ms(P(l.ClientMs, .95))} | {Ms(P(l.ClientMs, .99))} | " +
                          $"{Ms(P(l.ServerMs, .95))} | {Ms(P(l.RawAndMs, .5))} | {Ms(P(l.RawAndMs, .95))} | {Ms(P(l.RawAndMs, .99))} | " +
                          $"{Ms(P(l.RawOrMs, .5))} | {Ms(P(l.RawOrMs, .95))} | {Ms(P(l.RawOrMs, .99))} | " +
                          $"{l.RecallRows:0.0} · {l.RawAndRows:0.0} · {l.RawOrRows:0.0} | {X(P(l.ClientMs, .95) / P(l.RawAndMs, .95))} | {X(P(l.ClientMs, .95) / P(l.RawOrMs, .95))} |");

        md.AppendLine().AppendLine("Projection catch-up: the server stopped, the RecallEntry read model and its progression row deleted, the server " +
                                   "started again; memories per second = backlog ÷ time from the server being ready to the projection reaching the last event " +
                                   "(includes the daemon's agent assignment; first progress = when the first daemon batch was committed):").AppendLine();
        md.AppendLine("| embeddings | backlog (memories) | first progress after | caught up after | memories/s |").AppendLine("|---|---:|---:|---:|---:|");
        foreach (var c in catchUps)
            md.AppendLine($"| {c.Embeddings} | {N(c.Backlog)} | {c.StartDelaySeconds:0.0} s | {c.Seconds:0.0} s | {N(c.MemoriesPerSecond)} |");

        md.AppendLine().AppendLine("Ingest (embeddings off; POST /memories/batch, 1,000 per request, " + o.IngestClients + " clients), and how long the projection still took after the last write:").AppendLine();
        md.AppendLine("| database | memories | memories/s | projection caught up after |").AppendLine("|---|---:|---:|---:|");
        foreach (var i in ingests)
            md.AppendLine($"| {i.Database} | {N(i.From)} → {N(i.To)} | {N((i.To - i.From) / i.Seconds)} | {i.CaughtUpAfterSeconds:0.0} s |");

        md.AppendLine().AppendLine("| target | measured | met |").AppendLine("|---|---:|:---:|");
        {
            var h = latencies.FirstOrDefault(x => x.Memories == 100_000 && x.Mode.StartsWith("hybrid", StringComparison.Ordinal));
            md.AppendLine(h is null
                ? "| recall p95 < 25 ms at 100,000 (hybrid, embeddings on) | not measured in this run (`--hybrid 100000`) | – |"
                : $"| recall p95 < 25 ms at 100,000 (hybrid, embeddings on) | {Ms(P(h.ClientMs, .95))} | {Met(P(h.ClientMs, .95) < 25)} |");
        }
        foreach (var (size, limit) in new[] { (100_000L, 25.0), (1_000_000L, 60.0) })
        {
            var l = latencies.FirstOrDefault(x => x.Memories == size && x.Mode.StartsWith("full text", StringComparison.Ordinal));
            if (l is null) { md.AppendLine($"| recall p95 < {limit:0} ms at {N(size)} | not measured in this run | – |"); continue; }
            md.AppendLine($"| recall p95 < {limit:0} ms at {N(size)} (full text) | {Ms(P(l.ClientMs, .95))} | {Met(P(l.ClientMs, .95) < limit)} |");
            var ratio = P(l.ClientMs, .95) / P(l.RawAndMs, .95);
            md.AppendLine($"| recall p95 within 2× raw full-text (AND) at {N(size)} | {X(ratio)} | {Met(ratio <= 2)} |");
        }
        return md.ToString().TrimEnd();
    }

    private static Opts? Parse(string[] args)
    {
        long[] sizes = [100_000, 1_000_000];
        int hybrid = 5000, queries = 1000, warm = 100, subjects = 100, clients = 2, seed = 42;
        string? write = null, server = null;
        var quick = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "-h" or "--help": return null;
                case "--quick": quick = true; sizes = [10_000, 30_000]; hybrid = 500; queries = 200; warm = 20; break;
                case "--sizes" when i + 1 < args.Length && args[i + 1] == "none":
                    sizes = [];
                    i++;
                    break;
                case "--sizes":
                    sizes = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
                    break;
                case "--hybrid": hybrid = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--queries": queries = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--warm-queries": warm = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--subjects": subjects = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--ingest-clients": clients = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--server": server = Value(); break;
                case "--write":
                    write = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : Paths.DefaultDoc();
                    break;
                default: throw new ArgumentException($"unknown option '{args[i]}' (see ops/bench recall --help)");
            }
        }
        if (sizes.Any(s => s < 1000) || !sizes.SequenceEqual(sizes.Order()))
            throw new ArgumentException("--sizes must be increasing sizes of at least 1000 (or none)");
        if (sizes.Length == 0 && hybrid == 0) throw new ArgumentException("nothing to measure: --sizes none and --hybrid 0");
        if (queries < 1 || subjects < 1 || clients < 1 || hybrid < 0 || warm < 0) throw new ArgumentException("counts must be positive");
        return new Opts(sizes, hybrid, queries, warm, subjects, clients, seed, write, server, quick, args);
    }

    private static double P(double[] sorted, double p) => RecallEval.Nearest(sorted, p);
    private static string N(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
    private static string Ms(double v) => double.IsNaN(v) ? "–" : v.ToString(v < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " ms";
    private static string X(double v) => double.IsNaN(v) || double.IsInfinity(v) ? "–" : v.ToString("0.00", CultureInfo.InvariantCulture) + "×";
    private static string Met(bool met) => met ? "yes" : "**no**";
    private static void Progress(string line) => Console.Error.WriteLine($"aetherra-bench: {line}");
}

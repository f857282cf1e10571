using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Aetherra.Api.Hosting;
using Aetherra.Application.Homeostasis;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Aetherra.Benchmarks;

/// <summary>
/// <c>ops/bench operations</c>: the live feed's delivery lag (many SSE subscribers while a writer keeps a steady
/// event rate), and the full rebuild rate of each async projection through the server's rebuild job, beside a
/// trivial projection (it only counts) rebuilt by Marten's daemon over the same events in the same run.
/// </summary>
public static class OperationsBench
{
    public const string Usage = """
        ops/bench operations [options]   live feed lag and projection rebuild rates
          --quick                 a smoke run: 10 subscribers, 200 events/s for 10 s, 20,000 memories to rebuild
          --subscribers N         SSE subscribers of one tenant (default 100)
          --rate N                memory.recorded events per second written meanwhile (default 1000)
          --seconds N             how long the writer writes (default 30)
          --memories N            memories written before the rebuilds (default 200000)
          --only rebuild          the rebuilds alone (no live feed): a bounded measure of the rebuild rates
          --projections A,B       rebuild only these async projections (the trivial one is always rebuilt)
          --write [PATH]          replace the operations section of PATH (default docs/benchmarks.md)
          --server DLL            the built server
        """;

    public const string Begin = "<!-- bench-operations:begin -->";
    public const string End = "<!-- bench-operations:end -->";
    private const string Tenant = "bench";

    private sealed record Options(bool Quick, int Subscribers, int Rate, int Seconds, int Memories, string? Write, string? ServerDll,
        bool RebuildOnly = false, string[]? Projections = null);

    private sealed record FeedResult(int Subscribers, int Rate, int Seconds, long Written, double AchievedRate, long Delivered, long Expected,
        double[] LagMs, double[] WriteMs, double Cpu);

    /// <param name="Cpu">CPU seconds over the rebuild: the process that ran it (the server, or this driver for the trivial
    /// projection) and the cluster's PostgreSQL; null where /proc is not there</param>
    private sealed record RebuildResult(string Projection, long Events, double Seconds, string How, (double Process, double Postgres)? Cpu = null)
    {
        public double Rate => Events / Seconds;
    }

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var o = Parse(args);
        if (o is null)
        {
            Console.WriteLine(Usage);
            return 0;
        }
        if (o.Write is not null && (o.RebuildOnly || o.Projections is not null))
            throw new ArgumentException("--write replaces the whole section: not with --only or --projections");
        var cluster = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench operations.");
        var serverDll = o.ServerDll ?? Paths.DefaultServerDll();
        var machine = await Machine.DescribeAsync(cluster);
        var loadAtStart = Machine.LoadAverage();
        var workDir = Directory.CreateTempSubdirectory("aetherra-bench-ops.").FullName;
        FeedResult? feed = null;
        var rebuilds = new List<RebuildResult>();
        await using (var databases = new Databases(cluster))
        {
            var database = await databases.CreateAsync("operations", ct);
            Progress("starting the server (embeddings off)");
            await using var server = await ServerProcess.StartAsync(serverDll, database, workDir, ct,
                new Dictionary<string, string> { ["AETHERRA_EMBEDDINGS"] = "off" });
            using var http = await ClientAsync(server, ct);

            if (!o.RebuildOnly) feed = await FeedLagAsync(server, http, o, ct);
            rebuilds.AddRange(await RebuildsAsync(server, http, database, o, ct));
        }

        var markdown = Markdown(o, machine, loadAtStart, feed, rebuilds);
        Console.WriteLine(markdown);
        if (o.Write is { } path)
        {
            Report.WriteSection(path, markdown, Begin, End);
            Progress($"wrote the results into {path}");
        }
        // AETHERRA_BENCH_KEEP_LOGS=1 keeps the server's log (which rebuild path ran, the end's timings).
        if (Environment.GetEnvironmentVariable("AETHERRA_BENCH_KEEP_LOGS") == "1") Progress($"server log kept in {workDir}");
        else Directory.Delete(workDir, recursive: true);
        return 0;
    }

    /// <summary>
    /// The subscribers follow memory.recorded.v1 from the current end of the log; the writer writes batches of
    /// rate/50 memories every 20 ms. A subscriber measures each event's lag from the event's timestamp (its
    /// transaction's start, by PostgreSQL's clock on this machine) to the moment its data line arrives. The
    /// run ends when every subscriber has every event (or 60 s after the writer stopped).
    /// </summary>
    private static async Task<FeedResult> FeedLagAsync(ServerProcess server, HttpClient writer, Options o, CancellationToken ct)
    {
        var after = await HighWaterAsync(writer, ct);
        var perBatch = Math.Max(1, o.Rate / 50);
        var batches = o.Seconds * 50;
        var expected = (long)perBatch * batches;
        Progress($"feed: {o.Subscribers} subscribers, {perBatch * 50} events/s for {o.Seconds} s ({expected:N0} events each)");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var lags = new List<double>[o.Subscribers];
        var received = new long[o.Subscribers];
        var connected = new TaskCompletionSource[o.Subscribers];
        var subscribers = new Task[o.Subscribers];
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = o.Subscribers + 8, UseCookies = false };
        using var feedHttp = new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        feedHttp.DefaultRequestHeaders.Authorization = writer.DefaultRequestHeaders.Authorization;
        for (var i = 0; i < o.Subscribers; i++)
        {
            var n = i;
            lags[n] = new List<double>((int)Math.Min(expected, 10_000_000));
            connected[n] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            subscribers[n] = Task.Run(() => SubscribeAsync(feedHttp, after, expected, lags[n], received, n, connected[n], stop.Token), ct);
        }
        await Task.WhenAll(connected.Select(c => c.Task)).WaitAsync(TimeSpan.FromSeconds(60), ct);

        var cpu = new CpuProbe(() => server.Pid, null);
        var cpuStart = cpu.Sample()?.Server ?? 0;
        var started = Stopwatch.GetTimestamp();
        // Each batch leaves on its schedule, whether or not the previous one has been answered (at most 16 in
        // flight), so a slow answer does not lower the rate the subscribers see.
        long written = 0;
        var writeMs = new System.Collections.Concurrent.ConcurrentBag<double>();
        using var inFlight = new SemaphoreSlim(16);
        var sends = new List<Task>(batches);
        for (var b = 0; b < batches; b++)
        {
            var due = TimeSpan.FromMilliseconds(20.0 * b) - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.Zero) await Task.Delay(due, ct);
            await inFlight.WaitAsync(ct);
            var body = new StringBuilder("{\"memories\":[");
            for (var m = 0; m < perBatch; m++)
                body.Append(m == 0 ? "" : ",").Append(CultureInfo.InvariantCulture,
                    $"{{\"content\":\"feed lag probe {b}-{m} {Guid.NewGuid():N}\",\"subject\":\"s{m % 10}\",\"agent\":\"bench\",\"kind\":\"observation\"}}");
            body.Append("]}");
            sends.Add(SendAsync(body.ToString()));
        }
        await Task.WhenAll(sends);

        async Task SendAsync(string json)
        {
            try
            {
                var sent = Stopwatch.GetTimestamp();
                using var response = await writer.PostAsync("/memories/batch", new StringContent(json, Encoding.UTF8, "application/json"), ct);
                if (response.StatusCode != HttpStatusCode.OK)
                    throw new InvalidOperationException($"/memories/batch answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
                writeMs.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                Interlocked.Add(ref written, perBatch);
            }
            finally
            {
                inFlight.Release();
            }
        }
        var writing = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpuUsed = (cpu.Sample()?.Server ?? 0) - cpuStart;

        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
        while (Enumerable.Range(0, o.Subscribers).Any(i => Volatile.Read(ref received[i]) < expected) && Stopwatch.GetTimestamp() < deadline)
            await Task.Delay(100, ct);
        await stop.CancelAsync();
        await Task.WhenAll(subscribers.Select(s => s.ContinueWith(_ => { }, TaskScheduler.Default)));

        var all = lags.SelectMany(l => l).ToArray();
        Array.Sort(all);
        var writes = writeMs.ToArray();
        Array.Sort(writes);
        Progress($"  delivered {received.Sum():N0} of {expected * o.Subscribers:N0}; lag p50 {Percentile(all, 0.5):F0} ms p99 {Percentile(all, 0.99):F0} ms");
        return new FeedResult(o.Subscribers, perBatch * 50, o.Seconds, written, written / writing, received.Sum(), expected * o.Subscribers,
            all, writes, cpuUsed / writing);
    }

    private static async Task SubscribeAsync(
        HttpClient http, long after, long expected, List<double> lags, long[] received, int n, TaskCompletionSource connected, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/events/stream?types=memory.recorded.v1&after={after}");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            connected.TrySetResult();
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                var now = DateTimeOffset.UtcNow;
                var at = line.IndexOf("\"timestamp\":\"", StringComparison.Ordinal);
                var end = line.IndexOf('"', at + 13);
                var stamp = DateTimeOffset.Parse(line.AsSpan(at + 13, end - at - 13), CultureInfo.InvariantCulture);
                lags.Add((now - stamp).TotalMilliseconds);
                if (Interlocked.Increment(ref received[n]) >= expected) return;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            connected.TrySetException(e);
            throw;
        }
    }

    /// <summary>
    /// Writes the memories (batches of 1,000, two clients), waits until every async projection has caught up,
    /// then rebuilds each through POST /admin/projections/{name}/rebuild and times the job; then a trivial
    /// projection over the same events, rebuilt by Marten's own daemon from this process.
    /// </summary>
    private static async Task<List<RebuildResult>> RebuildsAsync(
        ServerProcess server, HttpClient http, string database, Options o, CancellationToken ct)
    {
        Progress($"rebuilds: writing {o.Memories:N0} memories");
        using var bodies = new Synthetic(42, 100).Bodies(0, o.Memories).GetEnumerator();
        async Task Writer()
        {
            while (true)
            {
                byte[] body;
                lock (bodies)
                {
                    if (!bodies.MoveNext()) return;
                    body = bodies.Current;
                }
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync("/memories/batch", content, ct);
                if (response.StatusCode != HttpStatusCode.OK)
                    throw new InvalidOperationException($"/memories/batch answered {(int)response.StatusCode}");
            }
        }
        await Task.WhenAll(Writer(), Writer());

        var projections = await CaughtUpAsync(http, ct);
        // The planner's statistics as autovacuum leaves them sooner or later: without them, whether the daemon's page
        // query over mt_events was planned on a table PostgreSQL still took for nearly empty depended on autovacuum's
        // timing, and one run's trivial projection took 28 s instead of 3 (the page query, seconds each, was all of it).
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync(ct);
            await using var analyze = new NpgsqlCommand("vacuum analyze", connection) { CommandTimeout = 0 };
            await analyze.ExecuteNonQueryAsync(ct);
        }
        var results = new List<RebuildResult>();
        var serverCpu = new CpuProbe(() => server.Pid, Machine.PostmasterPid());
        foreach (var name in projections.Where(p => o.Projections is null || o.Projections.Contains(p, StringComparer.OrdinalIgnoreCase)))
        {
            Progress($"rebuilding {name} through the server");
            var cpuBefore = serverCpu.Sample();
            using var response = await http.PostAsJsonAsync($"/admin/projections/{name}/rebuild", new { }, ct);
            if (response.StatusCode != HttpStatusCode.Accepted)
                throw new InvalidOperationException($"rebuild {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            var jobId = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("jobId").GetString();
            JsonElement job;
            do
            {
                await Task.Delay(200, ct);
                job = await http.GetFromJsonAsync<JsonElement>($"/admin/jobs/{jobId}", ct);
            } while (job.GetProperty("status").GetString() == "running");
            if (job.GetProperty("status").GetString() != "succeeded") throw new InvalidOperationException($"rebuild {name} failed: {job}");
            var cpuAfter = serverCpu.Sample();
            var seconds = (job.GetProperty("finishedAt").GetDateTimeOffset() - job.GetProperty("startedAt").GetDateTimeOffset()).TotalSeconds;
            var events = await CountEventsAsync(database, ct);
            var cpu = cpuBefore is null || cpuAfter is null ? ((double, double)?)null : (cpuAfter.Server - cpuBefore.Server, cpuAfter.Postgres - cpuBefore.Postgres);
            results.Add(new RebuildResult(name, events, seconds, "server job (agent rebuild)", cpu));
            Progress($"  {events:N0} events in {seconds:F1} s: {events / seconds:N0} events/s; CPU {Cpu(cpu)} (load {Machine.LoadAverage()})");
        }

        Progress("rebuilding a trivial projection (counts events) with Marten's daemon, same events");
        await using var dataSource = NpgsqlDataSource.Create(database);
        var options = new StoreOptions();
        AetherraHost.ConfigureStore(options, dataSource, HomeostasisSettings.From(new ConfigurationBuilder().Build()), "aetherra");
        var trivial = new CountingProjection();
        options.Projections.Add(trivial, ProjectionLifecycle.Async, "BenchTrivialCount");
        using var store = new DocumentStore(options);
        var daemon = await store.BuildProjectionDaemonAsync();
        var driverCpu = new CpuProbe(() => null, Machine.PostmasterPid());
        var trivialBefore = driverCpu.Sample();
        var watch = Stopwatch.StartNew();
        await daemon.RebuildProjectionAsync("BenchTrivialCount", TimeSpan.FromHours(1), ct);
        watch.Stop();
        var trivialAfter = driverCpu.Sample();
        var trivialCpu = trivialBefore is null || trivialAfter is null
            ? ((double, double)?)null
            : (trivialAfter.Driver - trivialBefore.Driver, trivialAfter.Postgres - trivialBefore.Postgres);
        await daemon.StopAllAsync();
        results.Add(new RebuildResult("trivial (counts events)", trivial.Count, watch.Elapsed.TotalSeconds, "Marten daemon, this process", trivialCpu));
        Progress($"  {trivial.Count:N0} events in {watch.Elapsed.TotalSeconds:F1} s: {trivial.Count / watch.Elapsed.TotalSeconds:N0} events/s; " +
                 $"CPU {Cpu(trivialCpu)} (load {Machine.LoadAverage()})");
        return results;
    }

    private static string Cpu((double Process, double Postgres)? cpu) =>
        cpu is { } c ? string.Create(CultureInfo.InvariantCulture, $"{c.Process:F1} s the process, {c.Postgres:F1} s PostgreSQL") : "n/a";


    private sealed class CountingProjection : IProjection
    {
        public long Count;

        public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
        {
            Interlocked.Add(ref Count, events.Count);
            return Task.CompletedTask;
        }
    }

    /// <summary>The async projections, once every one has reached the high-water mark.</summary>
    private static async Task<List<string>> CaughtUpAsync(HttpClient http, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 600;
        while (true)
        {
            var list = await http.GetFromJsonAsync<JsonElement>("/admin/projections", ct);
            var async = list.EnumerateArray().Where(p => p.GetProperty("lifecycle").GetString() == "async").ToList();
            if (async.All(p => p.GetProperty("lag").GetInt64() == 0 && p.GetProperty("position").GetInt64() > 0))
                return async.Select(p => p.GetProperty("name").GetString()!).ToList();
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException($"projections did not catch up: {list}");
            await Task.Delay(500, ct);
        }
    }

    private static async Task<long> CountEventsAsync(string database, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("select count(*) from aetherra.mt_events", connection);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task<long> HighWaterAsync(HttpClient http, CancellationToken ct) =>
        (await http.GetFromJsonAsync<JsonElement>("/admin/status", ct)).GetProperty("eventStore").GetProperty("highWaterMark").GetInt64();

    /// <summary>A key of the bench tenant with every scope (admin implies them; operator for the projections and jobs; the feed shows its own tenant).</summary>
    private static async Task<HttpClient> ClientAsync(ServerProcess server, CancellationToken ct)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16, UseCookies = false })
        {
            BaseAddress = server.BaseAddress,
            Timeout = TimeSpan.FromMinutes(5)
        };
        http.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Bearer", await server.NewKeyAsync("operations", Tenant, ["admin", "operator"], ct));
        return http;
    }

    private static string Markdown(Options o, Machine machine, string loadAtStart, FeedResult? feed, List<RebuildResult> rebuilds)
    {
        var md = new StringBuilder();
        var command = Environment.GetEnvironmentVariable("AETHERRA_BENCH_COMMAND") ?? "ops/bench operations";
        md.AppendLine(CultureInfo.InvariantCulture, $"Command: `{command}`{(o.Quick ? " (--quick: a smoke run, not figures to quote)" : "")}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- When: {machine.At:yyyy-MM-dd HH:mm} UTC, commit {machine.Commit}; load average {loadAtStart} at start, {Machine.LoadAverage()} at end");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Machine: {machine.Cpus} CPUs ({machine.CpuModel}), {machine.Memory} RAM; {machine.Os}; {machine.Dotnet}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Store: {machine.Postgres}, a throwaway cluster on this machine; the driver and its subscribers run on the same machine");
        if (feed is not null)
        {
            md.AppendLine().AppendLine("Live feed (`GET /events/stream?types=memory.recorded.v1`): lag from each event's timestamp (its transaction's " +
                                       "start) to its arrival at a subscriber, beside the round trip of the writes that carried them (the floor: an " +
                                       "event cannot be delivered before it commits):");
            md.AppendLine().AppendLine("| subscribers | target events/s | achieved events/s | seconds | delivered | lag p50 | lag p90 | lag p99 | max | write round trip p50 / p99 | server CPU (cores) |");
            md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {feed.Subscribers} | {feed.Rate:N0} | {feed.AchievedRate:N0} | {feed.Seconds} | {feed.Delivered:N0} of {feed.Expected:N0} | " +
                $"{Percentile(feed.LagMs, 0.5):F0} ms | {Percentile(feed.LagMs, 0.9):F0} ms | {Percentile(feed.LagMs, 0.99):F0} ms | " +
                $"{(feed.LagMs.Length > 0 ? feed.LagMs[^1] : 0):F0} ms | {Percentile(feed.WriteMs, 0.5):F0} / {Percentile(feed.WriteMs, 0.99):F0} ms | {feed.Cpu:F2} |");
        }
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Full rebuilds over the same {o.Memories:N0} memories (embeddings off):");
        md.AppendLine().AppendLine("| projection | how | events | seconds | events/s | vs trivial | CPU s: process / PostgreSQL |").AppendLine("|---|---|---:|---:|---:|---:|---:|");
        var baseline = rebuilds.LastOrDefault()?.Rate ?? 1;
        foreach (var r in rebuilds)
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Projection} | {r.How} | {r.Events:N0} | {r.Seconds:F1} | {r.Rate:N0} | {r.Rate / baseline:P0} | {(r.Cpu is { } c ? $"{c.Process:F1} / {c.Postgres:F1}" : "n/a")} |");
        return md.ToString();
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static Options? Parse(string[] args)
    {
        var o = new Options(false, 100, 1000, 30, 200_000, null, null);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "-h" or "--help": return null;
                case "--quick": o = o with { Quick = true, Subscribers = 10, Rate = 200, Seconds = 10, Memories = 20_000 }; break;
                case "--subscribers": o = o with { Subscribers = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
                case "--rate": o = o with { Rate = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
                case "--seconds": o = o with { Seconds = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
                case "--memories": o = o with { Memories = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
                case "--server": o = o with { ServerDll = Value() }; break;
                case "--only":
                    o = Value() == "rebuild" ? o with { RebuildOnly = true } : throw new ArgumentException("--only takes 'rebuild'");
                    break;
                case "--projections": o = o with { Projections = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) }; break;
                case "--write":
                    o = o with { Write = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : Paths.DefaultDoc() };
                    break;
                default: throw new ArgumentException($"unknown option '{args[i]}' (see ops/bench operations --help)");
            }
        }
        return o;
    }

    private static void Progress(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}

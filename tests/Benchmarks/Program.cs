using Aetherra.Benchmarks;

// Load driver for docs/benchmarks.md. Run it through ops/bench, which builds Release, starts a throwaway
// PostgreSQL and passes AETHERRA_BENCH_DB; see `ops/bench --help` for the options.
// Verbs: `recall ...` (ops/bench recall: recall latency and projection catch-up), `decisions ...` (ops/bench
// decisions: the learning loop's simulation over HTTP) and `eval-recall DATASET.json`
// (ops/eval-recall: recall quality); without a verb, the write-path benchmark.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
var ct = cancel.Token;

switch (args)
{
    case ["eval-recall", .. var rest]: return await RecallEval.RunAsync(rest, ct);
    case ["recall", .. var rest]: return await RecallBench.RunAsync(rest, ct);
    case ["operations", .. var rest]: return await OperationsBench.RunAsync(rest, ct);
    case ["decisions", .. var rest]: return await DecisionBench.RunAsync(rest, ct);
    case ["ratelimit", .. var rest]: return await RateLimitBench.RunAsync(rest, ct);
    case ["tasks", .. var rest]: return await TaskBench.RunAsync(rest, ct);
    case ["mcp", .. var rest]: return await McpBench.RunAsync(rest, ct);
    case ["embed", .. var rest]: return EmbedBench.Run(rest);
    case ["recall-tune", .. var rest]: return await RecallTune.RunAsync(rest, ct);
    case ["conversations", .. var rest]: return await ConversationBench.RunAsync(rest, ct);
    case ["cluster", .. var rest]: return await ClusterBench.RunAsync(rest, ct);
}

var options = Options.Parse(args);
if (options.Help)
{
    Console.WriteLine(Options.Usage);
    Console.WriteLine();
    Console.WriteLine(RecallBench.Usage);
    Console.WriteLine();
    Console.WriteLine(OperationsBench.Usage);
    return 0;
}

var serverConnection = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
    ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench (it starts a throwaway PostgreSQL).");
var serverDll = options.ServerDll ?? Paths.DefaultServerDll();
if (!File.Exists(serverDll)) throw new FileNotFoundException($"the built server is not at {serverDll}: build Release first (ops/bench does)", serverDll);

var report = new Report(options, await Machine.DescribeAsync(serverConnection));
var workDir = Directory.CreateTempSubdirectory("aetherra-bench.").FullName;
await using (var databases = new Databases(serverConnection))
{
    if (options.Audit)
    {
        Progress("audit log scenario");
        var scenario = new AuditScenario(serverDll, await databases.CreateAsync("audit", ct), Path.Combine(workDir, "audit"),
            options.AuditEvents, options.Proofs, options.Timing.Seed, Machine.PostmasterPid);
        report.Audit = await scenario.RunAsync(Progress, ct);
    }
    ServerProcess? server = null;
    if (options.Single || options.Batch)
    try
    {
        Progress($"starting the server ({serverDll})");
        server = await ServerProcess.StartAsync(serverDll, await databases.CreateAsync("http", ct), workDir, ct);
        var probe = new CpuProbe(() => server.Pid, Machine.PostmasterPid());
        using var http = new HttpScenarios(server, options.Timing, probe);
        await http.AuthenticateAsync(ct);
        await using var raw = await RawMartenScenarios.CreateAsync(await databases.CreateAsync("marten", ct), options.Timing, probe, ct);

        // Priming also creates every subject's data key, as a server in service has them.
        Progress($"priming the server and the raw store ({options.Timing.Prime.TotalSeconds:0.#} s each)");
        var primedHttp = await http.PrimeAsync(ct);
        var primedRaw = await raw.PrimeAsync(ct);
        if (options.Single)
            foreach (var c in options.Clients)
            {
                Progress($"single writes, {c} HTTP client(s)");
                var viaHttp = (await http.SingleWritesAsync(c, ct)).After(primedHttp);
                Progress($"  {viaHttp.OperationsPerSecond:F0}/s p50 {viaHttp.P50:F1} ms p99 {viaHttp.P99:F1} ms");
                Progress($"single appends, {c} raw Marten session(s)");
                var viaMarten = (await raw.SingleAppendsAsync(c, ct)).After(primedRaw);
                Progress($"  {viaMarten.OperationsPerSecond:F0}/s p50 {viaMarten.P50:F1} ms p99 {viaMarten.P99:F1} ms");
                report.Single.Add((viaHttp, viaMarten));
                primedHttp = primedRaw = Measurement.None;
            }

        if (options.Batch)
        {
            await using var copy = await CopyScenarios.CreateAsync(await databases.CreateAsync("copy", ct), options.Timing, probe, ct);
            foreach (var c in options.BatchClients)
            {
                Progress($"batch import, {c} HTTP client(s)");
                var viaHttp = (await http.BatchImportAsync(c, ct)).After(primedHttp);
                Progress($"  {viaHttp.ItemsPerSecond:F0} memories/s");
                Progress($"batch appends, {c} raw Marten session(s)");
                var viaMarten = (await raw.BatchAppendsAsync(c, ct)).After(primedRaw);
                Progress($"  {viaMarten.ItemsPerSecond:F0} events/s");
                Progress($"binary COPY, {c} connection(s)");
                var viaCopy = await copy.CopyAsync(c, ct);
                Progress($"  {viaCopy.ItemsPerSecond:F0} rows/s");
                report.Batch.Add((viaHttp, viaMarten, viaCopy));
                primedHttp = primedRaw = Measurement.None;
            }
        }
    }
    catch (Exception) when (server is not null)
    {
        Console.Error.WriteLine($"aetherra-bench: the server's log is {server.LogFile}");
        throw;
    }
    finally
    {
        if (server is not null) await server.DisposeAsync();
    }
}

var markdown = options.Single || options.Batch ? report.Markdown() : null;
var audit = report.Audit is not null ? report.AuditMarkdown() : null;
if (markdown is not null) Console.WriteLine(markdown);
if (audit is not null) Console.WriteLine((markdown is null ? "" : "\n") + audit);
if (options.WritePath is { } path)
{
    if (markdown is not null) Report.WriteSection(path, markdown);
    if (audit is not null) Report.WriteSection(path, audit, Report.AuditBegin, Report.AuditEnd);
    Progress($"wrote the results into {path}");
}
if (report.Failures() > 0)
{
    Progress($"some operations failed; the server's log is kept in {workDir}");
    return 1;
}
// AETHERRA_BENCH_KEEP_LOGS=1 keeps the server's log (e.g. with AETHERRA_LOG_DEBUG=Aetherra.Application.Memory: each write batch's size).
if (Environment.GetEnvironmentVariable("AETHERRA_BENCH_KEEP_LOGS") == "1") Progress($"the server's log is kept in {workDir}");
else Directory.Delete(workDir, recursive: true);
return 0;


static void Progress(string line) => Console.Error.WriteLine($"aetherra-bench: {line}");

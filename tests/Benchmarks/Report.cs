using System.Globalization;
using System.Text;

namespace Aetherra.Benchmarks;

public sealed class Report(Options options, Machine machine)
{
    public const string Begin = "<!-- bench:begin -->";
    public const string End = "<!-- bench:end -->";
    public const string AuditBegin = "<!-- bench:audit:begin -->";
    public const string AuditEnd = "<!-- bench:audit:end -->";

    // Targets of the verifiable audit log (issue 6).
    private const double TargetVerifyRate = 100_000;
    private const double TargetProofP95Ms = 10;

    // Targets of the first benchmark (issue: ops/bench with its first benchmark).
    private const int TargetClients = 32;
    private const double TargetRateRatio = 0.60;
    private const double TargetP99Ratio = 1.5;
    private const double TargetImportRate = 20_000;

    private readonly string _loadAtStart = Machine.LoadAverage();

    public List<(Measurement Http, Measurement Raw)> Single { get; } = [];
    public List<(Measurement Http, Measurement Raw, Measurement Copy)> Batch { get; } = [];
    public AuditFigures? Audit { get; set; }

    public long Failures() =>
        Single.Sum(r => r.Http.Errors + r.Raw.Errors) + Batch.Sum(r => r.Http.Errors + r.Raw.Errors + r.Copy.Errors) + (Audit?.Proofs.Errors ?? 0);

    private void Header(StringBuilder md)
    {
        var command = Environment.GetEnvironmentVariable("AETHERRA_BENCH_COMMAND") ?? "aetherra-bench " + string.Join(' ', options.Args);
        md.AppendLine($"Command: `{command.Trim()}`").AppendLine();
        md.AppendLine($"- When: {machine.At:yyyy-MM-dd HH:mm} UTC, commit {machine.Commit}");
        md.AppendLine($"- Machine: {machine.Cpus} CPUs ({machine.CpuModel}), {machine.Memory} RAM; {machine.Os}; {machine.Dotnet}");
        md.AppendLine($"- Store: {machine.Postgres}, a throwaway cluster on this machine; connections: {machine.ConnectionOptions}");
        md.AppendLine($"- Load average (1 min): {_loadAtStart} before the run (quiet is below 1: above it, other work shared the {machine.Cpus} CPUs), {Machine.LoadAverage()} at its end");
    }

    /// <summary>The audit log scenario's section (its own markers, so a run of one scenario leaves the other's figures).</summary>
    public string AuditMarkdown()
    {
        var a = Audit ?? throw new InvalidOperationException("the audit scenario did not run");
        var md = new StringBuilder();
        Header(md);
        md.AppendLine($"- Store content: {N(a.Events)} `audit.recorded.v1` events inserted with SQL in {a.LoadSeconds:0.#} s " +
                      $"(tree size {N(a.TreeSize)} with the key's own audit records); tree built by the projection's code in {a.BuildSeconds:0.#} s " +
                      $"({N(a.TreeSize / a.BuildSeconds)} events/s) with {a.Checkpoints} signed checkpoints" +
                      (options.Quick ? " (--quick: a smoke run, not figures to quote)" : ""));
        md.AppendLine().AppendLine("| what | time | rate |").AppendLine("|---|---:|---:|");
        md.AppendLine($"| full verification (`AuditLogVerifier`, as `aetherra audit verify`), {N(a.Verify.VerifiedEvents)} events, {a.Verify.Checkpoints} checkpoints | {a.VerifySeconds:0.00} s | **{N(a.Verify.VerifiedEvents / a.VerifySeconds)} events/s** |");
        md.AppendLine($"| raw SHA-256 of the same leaf bytes (0x00 ‖ leaf, {N(a.LeafBytes / 1e6)} MB, one thread, in memory) | {a.HashSeconds:0.00} s | {N(a.TreeSize / a.HashSeconds)} leaves/s, {N(a.LeafBytes / a.HashSeconds / 1e6)} MB/s |");
        md.AppendLine($"| reading the same rows alone (Npgsql, one connection, leaf bytes built, no hashing) | {a.ReadSeconds:0.00} s | {N(a.TreeSize / a.ReadSeconds)} rows/s |");
        if (a.VerifyCpu is { } cpu)
            md.AppendLine().AppendLine($"CPU per verified event: verifier {cpu.DriverMs * 1000:0.0} µs, PostgreSQL {cpu.PostgresMs * 1000:0.0} µs, other {cpu.OtherMs * 1000:0.0} µs; machine {Pct(cpu.MachineBusy)} busy.");
        var p = a.Proofs;
        md.AppendLine().AppendLine($"Inclusion proofs: `GET /audit/proof/inclusion?sequence=…&treeSize={a.TreeSize}` over HTTP, one keep-alive connection, one request at a time, " +
                                   $"{N(p.Operations)} random events of the tenant after {Math.Min(200, p.Operations)} untimed:").AppendLine();
        md.AppendLine("| tree size | proofs/s | p50 | p95 | p99 | server CPU per proof | PostgreSQL CPU per proof |").AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        md.AppendLine($"| {N(a.TreeSize)} | {N(p.OperationsPerSecond)} | {Ms2(p.P50)} | {Ms2(p.Percentile(0.95))} | {Ms2(p.P99)} | {(p.Cpu is null ? "–" : Ms2(p.Cpu.ServerMs))} | {(p.Cpu is null ? "–" : Ms2(p.Cpu.PostgresMs))} |");
        var rate = a.Verify.VerifiedEvents / a.VerifySeconds;
        var p95 = p.Percentile(0.95);
        md.AppendLine().AppendLine("| target | measured | met |").AppendLine("|---|---:|:---:|");
        md.AppendLine($"| verification ≥ {N(TargetVerifyRate)} events/s at {N(a.Events)} events | {N(rate)}/s | {Met(rate >= TargetVerifyRate)} |");
        md.AppendLine($"| inclusion proof p95 < {TargetProofP95Ms:0} ms at {N(a.TreeSize)} leaves | {Ms2(p95)} | {Met(p95 < TargetProofP95Ms)} |");
        md.AppendLine().AppendLine(p.Errors == 0 ? "Every proof request succeeded; verification reported the log intact." : $"Failures: {p.Errors} proof requests ({p.FirstError}).");
        return md.ToString().TrimEnd();
    }

    public string Markdown()
    {
        var t = options.Timing;
        var md = new StringBuilder();
        Header(md);
        md.AppendLine($"- Timing: {t.Prime.TotalSeconds:0.#} s of untimed load on the fresh server and store first; single writes {t.Warmup.TotalSeconds:0.#} s warm-up + {t.Duration.TotalSeconds:0.#} s per row; " +
                      $"imports {N(t.BatchTotal)} memories per row in batches of {N(t.BatchSize)} after a warm-up batch per client" +
                      (options.Quick ? " (--quick: a smoke run, not figures to quote)" : ""));

        if (Single.Count > 0)
        {
            md.AppendLine().AppendLine("Single writes: `POST /memories` (one memory per request) beside raw Marten appends (one event per transaction):").AppendLine();
            md.AppendLine("| clients | HTTP writes/s | HTTP p50 | HTTP p99 | raw Marten appends/s | raw p50 | raw p99 | rate HTTP/raw | p99 HTTP/raw |");
            md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (http, raw) in Single)
                md.AppendLine($"| {http.Concurrency} | {N(http.OperationsPerSecond)} | {Ms(http.P50)} | {Ms(http.P99)} | " +
                              $"{N(raw.OperationsPerSecond)} | {Ms(raw.P50)} | {Ms(raw.P99)} | " +
                              $"{Pct(http.OperationsPerSecond / raw.OperationsPerSecond)} | {X(http.P99 / raw.P99)} |");
        }

        if (Batch.Count > 0)
        {
            md.AppendLine().AppendLine($"Batch import: `POST /memories/batch` ({N(t.BatchSize)} per request) beside raw Marten " +
                                       $"({N(t.BatchSize)} events per transaction) and Npgsql binary COPY ({N(t.BatchSize)} rows per COPY):").AppendLine();
            md.AppendLine("| clients | HTTP memories/s | request p50 | request p99 | raw Marten events/s | COPY rows/s | HTTP/raw Marten | HTTP/COPY |");
            md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (http, raw, copy) in Batch)
                md.AppendLine($"| {http.Concurrency} | {N(http.ItemsPerSecond)} | {Ms(http.P50)} | {Ms(http.P99)} | " +
                              $"{N(raw.ItemsPerSecond)} | {N(copy.ItemsPerSecond)} | " +
                              $"{Pct(http.ItemsPerSecond / raw.ItemsPerSecond)} | {Pct(http.ItemsPerSecond / copy.ItemsPerSecond)} |");
        }

        var cpuRows = Single.SelectMany(r => new[] { ($"single, HTTP, {r.Http.Concurrency} clients", r.Http.Cpu, 1.0), ($"single, raw Marten, {r.Raw.Concurrency} sessions", r.Raw.Cpu, 1.0) })
            .Concat(Batch.SelectMany(r => new[]
            {
                ($"import, HTTP, {r.Http.Concurrency} clients", r.Http.Cpu, 1000.0), ($"import, raw Marten, {r.Raw.Concurrency} sessions", r.Raw.Cpu, 1000.0),
                ($"import, COPY, {r.Copy.Concurrency} connections", r.Copy.Cpu, 1000.0)
            }))
            .Where(r => r.Item2 is not null)
            .ToList();
        if (cpuRows.Count > 0)
        {
            md.AppendLine().AppendLine("CPU time per write (single: ms per request or transaction; import: µs per memory or row), from /proc. " +
                                       "Server is the Aetherra process (raw rows: idle), driver is the load generator (raw rows: it runs Marten or Npgsql itself), " +
                                       "other is everything else that ran on the machine meanwhile:").AppendLine();
            md.AppendLine("| row | server | PostgreSQL | driver | other | machine busy |").AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var (name, cpu, scale) in cpuRows)
                md.AppendLine($"| {name} | {C(cpu!.ServerMs * scale)} | {C(cpu.PostgresMs * scale)} | {C(cpu.DriverMs * scale)} | {C(cpu.OtherMs * scale)} | {Pct(cpu.MachineBusy)} |");
        }

        md.AppendLine().AppendLine("| target | measured | met |").AppendLine("|---|---:|:---:|");
        var at32 = Single.FirstOrDefault(r => r.Http.Concurrency == TargetClients);
        if (at32.Http is not null)
        {
            var rate = at32.Http.OperationsPerSecond / at32.Raw.OperationsPerSecond;
            var p99 = at32.Http.P99 / at32.Raw.P99;
            md.AppendLine($"| single writes at {TargetClients} clients: rate ≥ {Pct(TargetRateRatio)} of raw Marten's at {TargetClients} sessions | {Pct(rate)} | {Met(rate >= TargetRateRatio)} |");
            md.AppendLine($"| single writes at {TargetClients} clients: p99 ≤ {X(TargetP99Ratio)} raw Marten's | {X(p99)} | {Met(p99 <= TargetP99Ratio)} |");
        }
        else md.AppendLine($"| single writes at {TargetClients} clients | not measured in this run | – |");
        if (Batch.Count > 0)
        {
            var best = Batch.MaxBy(r => r.Http.ItemsPerSecond).Http;
            md.AppendLine($"| batch import ≥ {N(TargetImportRate)} memories/s (best concurrency) | {N(best.ItemsPerSecond)}/s at {best.Concurrency} client(s) | {Met(best.ItemsPerSecond >= TargetImportRate)} |");
        }
        else md.AppendLine("| batch import | not measured in this run | – |");

        var failures = Single.SelectMany(r => new[] { ("HTTP", r.Http), ("raw Marten", r.Raw) })
            .Concat(Batch.SelectMany(r => new[] { ("HTTP import", r.Http), ("raw Marten import", r.Raw), ("COPY", r.Copy) }))
            .Where(f => f.Item2.Errors > 0)
            .Select(f => $"{f.Item1} at {f.Item2.Concurrency}: {f.Item2.Errors} failed ({f.Item2.FirstError})")
            .ToList();
        md.AppendLine().AppendLine(failures.Count == 0 ? "Every request and transaction succeeded." : "Failures: " + string.Join("; ", failures) + ".");
        return md.ToString().TrimEnd();
    }

    /// <summary>Replaces what lies between the markers in <paramref name="path"/>; the prose around them stays.</summary>
    public static void WriteSection(string path, string markdown, string beginMarker = Begin, string endMarker = End)
    {
        var text = File.ReadAllText(path);
        var begin = text.IndexOf(beginMarker, StringComparison.Ordinal);
        var end = text.IndexOf(endMarker, StringComparison.Ordinal);
        if (begin < 0 || end < begin) throw new InvalidOperationException($"{path} has no {beginMarker} … {endMarker} section to replace");
        var updated = text[..(begin + beginMarker.Length)] + "\n" + markdown + "\n" + text[end..];
        File.WriteAllText(path, updated);
    }

    private static string N(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
    private static string Ms(double v) => double.IsNaN(v) ? "–" : v.ToString(v < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " ms";
    private static string Ms2(double v) => double.IsNaN(v) ? "–" : v.ToString("0.00", CultureInfo.InvariantCulture) + " ms";
    private static string C(double v) => v.ToString(v < 10 ? "0.00" : "0", CultureInfo.InvariantCulture);
    private static string Pct(double v) => (v * 100).ToString("0", CultureInfo.InvariantCulture) + " %";
    private static string X(double v) => v.ToString("0.00", CultureInfo.InvariantCulture) + "×";
    private static string Met(bool met) => met ? "yes" : "**no**";
}

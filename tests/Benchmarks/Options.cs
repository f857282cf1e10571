namespace Aetherra.Benchmarks;

public sealed record Options(
    bool Help, bool Single, bool Batch, bool Audit, int AuditEvents, int Proofs, int[] Clients, int[] BatchClients, Timing Timing, string? WritePath,
    string? ServerDll, bool Quick, string[] Args)
{
    public const string Usage = """
        aetherra-bench [options]   (normally run through ops/bench)

          --quick                 a smoke run: 2 s priming, 1 s warm-up, 3 s per row, 10,000 memories per import row,
                                  100,000 audit events
          --prime S               seconds of untimed load (8 clients) on the fresh server and store first (default 5)
          --warmup S              seconds of warm-up before each timed row (default 2)
          --duration S            seconds per timed single-write row (default 15)
          --clients LIST          concurrencies of the single-write rows (default 1,8,32)
          --batch-clients LIST    concurrencies of the import rows (default 1,4)
          --batch-total N         memories imported per import row (default 100000)
          --batch-size N          memories per import request / transaction / COPY (default 1000)
          --audit-events N        events in the audit log scenario (default 1000000; --quick 100000)
          --proofs N              inclusion proofs timed in the audit scenario (default 2000; --quick 500)
          --only single|batch|audit  run one scenario
          --seed N                seed of the generated memories (default 42)
          --write [PATH]          replace the generated section of PATH (default docs/benchmarks.md)
          --server DLL            the built server (default src/Api/bin/Release/net10.0/aetherra.dll)

        Environment: AETHERRA_BENCH_DB      connection string of the cluster (fresh databases are made on it)
                     AETHERRA_BENCH_PG_DIR  its data directory, to measure PostgreSQL's CPU (optional)
        """;

    public static Options Parse(string[] args)
    {
        double prime = 5, warmup = 2, duration = 15;
        int batchTotal = 100_000, batchSize = 1000, seed = 42, auditEvents = 1_000_000, proofs = 2000;
        int[] clients = [1, 8, 32], batchClients = [1, 4];
        bool single = true, batch = true, audit = true, help = false, quick = false;
        string? write = null, server = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "-h" or "--help": help = true; break;
                case "--quick": quick = true; prime = 2; warmup = 1; duration = 3; batchTotal = 10_000; auditEvents = 100_000; proofs = 500; break;
                case "--prime": prime = double.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = double.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--duration": duration = double.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--clients": clients = List(Value()); break;
                case "--batch-clients": batchClients = List(Value()); break;
                case "--batch-total": batchTotal = int.Parse(Value()); break;
                case "--batch-size": batchSize = int.Parse(Value()); break;
                case "--audit-events": auditEvents = int.Parse(Value()); break;
                case "--proofs": proofs = int.Parse(Value()); break;
                case "--seed": seed = int.Parse(Value()); break;
                case "--server": server = Value(); break;
                case "--only":
                    var only = Value();
                    single = only == "single";
                    batch = only == "batch";
                    audit = only == "audit";
                    if (!single && !batch && !audit) throw new ArgumentException("--only takes single, batch or audit");
                    break;
                case "--write":
                    write = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : Paths.DefaultDoc();
                    break;
                default: throw new ArgumentException($"unknown option '{args[i]}' (see --help)");
            }
        }
        if (batchSize is < 1 or > 1000) throw new ArgumentException("--batch-size must be 1..1000 (the server's batch limit)");
        if (batchTotal < batchSize) throw new ArgumentException("--batch-total must be at least --batch-size");
        if (auditEvents < 1 || proofs < 1) throw new ArgumentException("--audit-events and --proofs must be positive");
        return new Options(help, single, batch, audit, auditEvents, proofs, clients, batchClients,
            new Timing(TimeSpan.FromSeconds(prime), TimeSpan.FromSeconds(warmup), TimeSpan.FromSeconds(duration), batchTotal, batchSize, seed),
            write, server, quick, args);
    }

    private static int[] List(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray() is { Length: > 0 } list
        && list.All(c => c > 0) ? list : throw new ArgumentException($"'{value}' is not a list of positive numbers");
}

public static class Paths
{
    /// <summary>The repository root: the nearest ancestor of the working directory or of this binary holding Aetherra.sln.</summary>
    public static string Root()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Aetherra.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (Aetherra.sln)");
    }

    public static string DefaultServerDll() => Path.Combine(Root(), "src", "Api", "bin", "Release", "net10.0", "aetherra.dll");
    public static string DefaultDoc() => Path.Combine(Root(), "docs", "benchmarks.md");
}

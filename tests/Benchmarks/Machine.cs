using System.Diagnostics;
using System.Runtime.InteropServices;
using Npgsql;

namespace Aetherra.Benchmarks;

/// <summary>Where the figures come from: a number without its machine and commit means little.</summary>
public sealed record Machine(
    DateTimeOffset At, string Commit, int Cpus, string CpuModel, string Memory, string Os, string Dotnet, string Postgres,
    string ConnectionOptions)
{
    public static async Task<Machine> DescribeAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        async Task<string> Setting(string name)
        {
            await using var cmd = new NpgsqlCommand($"show {name}", connection);
            return (string)(await cmd.ExecuteScalarAsync())!;
        }
        var postgres = $"PostgreSQL {(await Setting("server_version")).Split(' ')[0]} (fsync {await Setting("fsync")}, " +
                       $"synchronous_commit {await Setting("synchronous_commit")}, shared_buffers {await Setting("shared_buffers")})";

        var commit = Git("rev-parse --short HEAD") ?? "unknown";
        if (!string.IsNullOrEmpty(Git("status --porcelain --untracked-files=no"))) commit += " with uncommitted changes";
        return new Machine(DateTimeOffset.UtcNow, commit, Environment.ProcessorCount, ReadCpuModel(), ReadMemoryTotal(),
            RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, postgres, Options(connectionString));
    }

    /// <summary>Npgsql settings beyond where to connect (e.g. Max Auto Prepare): both sides of every row use them.</summary>
    private static string Options(string connectionString)
    {
        var where = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Host", "Port", "Database", "Username", "Password" };
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var options = builder.Keys.Where(k => !where.Contains(k) && builder.TryGetValue(k, out var v) && v is not null)
            .Select(k => $"{k}={builder[k]}").ToList();
        return options.Count == 0 ? "Npgsql defaults" : string.Join("; ", options);
    }

    /// <summary>The 1-minute load average: other work on the two cores skews every figure, so the report says how busy the machine was.</summary>
    /// <summary>The benchmark cluster's postmaster (first line of its postmaster.pid; ops/bench sets AETHERRA_BENCH_PG_DIR):
    /// its children are the backends whose CPU the benchmarks count.</summary>
    public static int? PostmasterPid() =>
        Environment.GetEnvironmentVariable("AETHERRA_BENCH_PG_DIR") is { Length: > 0 } dir
        && File.Exists(Path.Combine(dir, "postmaster.pid"))
        && int.TryParse(File.ReadLines(Path.Combine(dir, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture, out var pid)
            ? pid
            : null;

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static string ReadCpuModel() =>
        ProcLine("/proc/cpuinfo", "model name")?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();

    private static string ReadMemoryTotal() =>
        ProcLine("/proc/meminfo", "MemTotal")?.Split(':', 2)[1].Trim().Split(' ')[0] is { } kb && long.TryParse(kb, out var k)
            ? $"{k / 1024.0 / 1024.0:F0} GiB"
            : "unknown";

    private static string? ProcLine(string file, string key) =>
        File.Exists(file) ? File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal)) : null;

    private static string? Git(string arguments)
    {
        try
        {
            var start = new ProcessStartInfo("git", arguments)
            {
                WorkingDirectory = Paths.Root(), RedirectStandardOutput = true, RedirectStandardError = true
            };
            using var git = Process.Start(start)!;
            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? output : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}

using System.Diagnostics;

namespace Aetherra.Benchmarks;

/// <summary>CPU time used so far by each party on the machine, in seconds.</summary>
public sealed record CpuSample(double Server, double Driver, double Postgres, double MachineBusy, double MachineTotal);

/// <summary>CPU spent per operation in a measured window, by party, and how busy the whole machine was.</summary>
public sealed record CpuUse(double ServerMs, double DriverMs, double PostgresMs, double OtherMs, double MachineBusy)
{
    public static CpuUse? Between(CpuSample? from, CpuSample? to, long operations)
    {
        if (from is null || to is null || operations == 0) return null;
        double PerOp(double seconds) => seconds * 1000 / operations;
        var server = to.Server - from.Server;
        var driver = to.Driver - from.Driver;
        var postgres = to.Postgres - from.Postgres;
        var busy = to.MachineBusy - from.MachineBusy;
        var total = to.MachineTotal - from.MachineTotal;
        return new CpuUse(PerOp(server), PerOp(driver), PerOp(postgres), PerOp(Math.Max(0, busy - server - driver - postgres)),
            total > 0 ? busy / total : double.NaN);
    }
}

/// <summary>
/// Reads /proc: where a write's CPU goes (server process, this driver, the benchmark cluster's PostgreSQL
/// processes) and what else ran meanwhile ("other": builds or tests of other work on the same cores).
/// Linux only; elsewhere no CPU figures are reported.
/// </summary>
public sealed class CpuProbe(Func<int?> serverPid, int? postmasterPid)
{
    private const double TicksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on

    public CpuSample? Sample()
    {
        if (!File.Exists("/proc/stat")) return null;
        var (busy, total) = Machine();
        using var self = Process.GetCurrentProcess();
        var server = serverPid() is { } pid ? ProcessSeconds(pid) : 0;
        var postgres = postmasterPid is { } pm ? PostgresSeconds(pm) : 0;
        return new CpuSample(server, self.TotalProcessorTime.TotalSeconds, postgres, busy, total);
    }

    private static (double Busy, double Total) Machine()
    {
        // cpu  user nice system idle iowait irq softirq steal ...
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Take(8).Select(double.Parse).ToArray();
        var total = fields.Sum();
        return ((total - fields[3] - fields[4]) / TicksPerSecond, total / TicksPerSecond);
    }

    /// <summary>
    /// The postmaster, its live children (backends, WAL writer, checkpointer…), and the children it has
    /// reaped: a backend whose connection closed took its CPU time into the postmaster's cutime/cstime,
    /// so the sum only ever grows.
    /// </summary>
    private static double PostgresSeconds(int postmaster)
    {
        double sum = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            if (Stat(pid) is not { } stat) continue;
            if (pid == postmaster) sum += stat.Seconds + stat.ReapedChildrenSeconds;
            else if (stat.Parent == postmaster) sum += stat.Seconds;
        }
        return sum;
    }

    private static double ProcessSeconds(int pid) => Stat(pid)?.Seconds ?? 0;

    private static (int Parent, double Seconds, double ReapedChildrenSeconds)? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (int.Parse(fields[1]), (double.Parse(fields[11]) + double.Parse(fields[12])) / TicksPerSecond,
                (double.Parse(fields[13]) + double.Parse(fields[14])) / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null; // the process ended between listing and reading
        }
    }
}

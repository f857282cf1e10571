using System.Diagnostics;

namespace Aetherra.Benchmarks;

/// <summary>What one row of the report measured.</summary>
public sealed record Measurement(
    int Concurrency, long Operations, long Items, long Errors, double Seconds, double[] LatenciesMs, string? FirstError, CpuUse? Cpu)
{
    public double OperationsPerSecond => Operations / Seconds;
    public double ItemsPerSecond => Items / Seconds;
    public double P50 => Percentile(0.50);
    public double P99 => Percentile(0.99);

    public static readonly Measurement None = new(0, 0, 0, 0, 1, [], null, null);

    /// <summary>Failures during the warm-up are failures too: they only do not count for the rate.</summary>
    public Measurement After(Measurement warmup) =>
        warmup.Errors == 0 ? this : this with { Errors = Errors + warmup.Errors, FirstError = warmup.FirstError + " (warm-up)" };

    /// <summary>Nearest-rank percentile of the recorded latencies.</summary>
    public double Percentile(double p)
    {
        if (LatenciesMs.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p * LatenciesMs.Length);
        return LatenciesMs[Math.Clamp(rank - 1, 0, LatenciesMs.Length - 1)];
    }
}

/// <summary>One unit of work of a worker: true when it succeeded; the item count it carried.</summary>
public delegate Task<bool> Operation(CancellationToken ct);

public static class Load
{
    /// <summary>
    /// Closed loop: <paramref name="concurrency"/> workers each run their operation back to back. Operations
    /// that complete during the warm-up are discarded; those completing inside the measured window count for
    /// the rate and their latencies (start to completion) for the percentiles; a failure counts wherever it
    /// happens. Workers start nothing new after the window closes.
    /// </summary>
    public static async Task<Measurement> ForDurationAsync(
        int concurrency, TimeSpan warmup, TimeSpan duration, Func<int, Operation> operationFor, int itemsPerOperation,
        CpuProbe probe, CancellationToken ct)
    {
        var begin = Stopwatch.GetTimestamp();
        var windowStart = begin + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var windowEnd = windowStart + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var cpu = Task.Run(async () =>
        {
            await Task.Delay(warmup, ct);
            var first = probe.Sample();
            await Task.Delay(duration, ct);
            return (first, probe.Sample());
        }, ct);
        var workers = Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var operation = operationFor(i);
            var latencies = new List<double>(4096);
            long errors = 0;
            string? firstError = null;
            while (!ct.IsCancellationRequested && Stopwatch.GetTimestamp() < windowEnd)
            {
                var started = Stopwatch.GetTimestamp();
                bool ok;
                try { ok = await operation(ct); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    ok = false;
                    firstError ??= e.GetType().Name + ": " + e.Message;
                }
                var ended = Stopwatch.GetTimestamp();
                if (!ok) errors++;
                else if (ended >= windowStart && ended <= windowEnd) latencies.Add(Stopwatch.GetElapsedTime(started, ended).TotalMilliseconds);
            }
            return (latencies, errors, firstError);
        }, ct)).ToArray();
        var results = await Task.WhenAll(workers);
        var (cpuFrom, cpuTo) = await cpu;
        ct.ThrowIfCancellationRequested();
        var all = results.SelectMany(r => r.latencies).ToArray();
        Array.Sort(all);
        return new Measurement(concurrency, all.Length, (long)all.Length * itemsPerOperation, results.Sum(r => r.errors),
            duration.TotalSeconds, all, results.Select(r => r.firstError).FirstOrDefault(e => e is not null),
            CpuUse.Between(cpuFrom, cpuTo, all.Length));
    }

    /// <summary>
    /// Fixed work: <paramref name="operations"/> operations shared by <paramref name="concurrency"/> workers,
    /// timed from the first start to the last completion. Warm-up is the caller's job.
    /// </summary>
    public static async Task<Measurement> ForCountAsync(
        int concurrency, int operations, Func<int, Operation> operationAt, int itemsPerOperation, CpuProbe probe,
        CancellationToken ct)
    {
        var next = -1;
        var cpuFrom = probe.Sample();
        var begin = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<double>();
            long errors = 0;
            string? firstError = null;
            int index;
            while (!ct.IsCancellationRequested && (index = Interlocked.Increment(ref next)) < operations)
            {
                var started = Stopwatch.GetTimestamp();
                bool ok;
                try { ok = await operationAt(index)(ct); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    ok = false;
                    firstError ??= e.GetType().Name + ": " + e.Message;
                }
                if (ok) latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                else errors++;
            }
            return (latencies, errors, firstError);
        }, ct)).ToArray();
        var results = await Task.WhenAll(workers);
        var seconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
        var cpuTo = probe.Sample();
        ct.ThrowIfCancellationRequested();
        var all = results.SelectMany(r => r.latencies).ToArray();
        Array.Sort(all);
        return new Measurement(concurrency, all.Length, (long)all.Length * itemsPerOperation, results.Sum(r => r.errors),
            seconds, all, results.Select(r => r.firstError).FirstOrDefault(e => e is not null),
            CpuUse.Between(cpuFrom, cpuTo, (long)all.Length * Math.Max(1, itemsPerOperation)));
    }
}

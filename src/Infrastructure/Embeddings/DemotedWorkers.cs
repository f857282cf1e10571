using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Aetherra.Infrastructure.Embeddings;

/// <summary>
/// The OS scheduling priority (nice) of one thread. .NET's <see cref="Thread.Priority"/> does nothing on Linux (a thread
/// set to <see cref="ThreadPriority.Lowest"/> still runs at nice 0: the runtime's SCHED_OTHER threads have no priority
/// range), so the nice is set through <c>setpriority(PRIO_PROCESS, tid, nice)</c>, which on Linux acts on the one
/// thread. Raising a nice needs no privilege; lowering it back does, so a thread that was demoted stays so.
/// </summary>
public static class ThreadNice
{
    private const int PrioProcess = 0;

    [DllImport("libc", SetLastError = true)]
    private static extern int setpriority(int which, uint who, int prio);

    [DllImport("libc")]
    private static extern int gettid();

    /// <summary>Sets the calling thread's nice; false where the OS refused it or is not Linux.</summary>
    public static bool SetCurrent(int nice)
    {
        if (!OperatingSystem.IsLinux()) return false;
        return setpriority(PrioProcess, (uint)gettid(), nice) == 0;
    }

    /// <summary>The calling thread's id as /proc/self/task names it (Linux only).</summary>
    public static int CurrentThreadId() => gettid();

    /// <summary>
    /// The nice of a thread of this process, read from <c>/proc/self/task/{tid}/stat</c> (field 19), or null when the
    /// thread is gone or this is not Linux.
    /// </summary>
    public static int? Of(int tid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
            // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, nice field 19.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[16], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The calling thread's nice (0 where it cannot be read).</summary>
    public static int OfCurrent() => OperatingSystem.IsLinux() ? Of(gettid()) ?? 0 : 0;
}

/// <summary>
/// Dedicated threads at a raised nice (a lower OS priority) that run the recall projection's tokenizing and model calls,
/// so that on a busy machine the requests (on the thread pool, at nice 0) take the cores first and the projection's
/// embedding uses what they leave. Created on the first batch; background threads, one per core. The query path never
/// runs here. ONNX Runtime computes a call on its caller's thread (one intra-op thread), so the model's work is demoted
/// with the thread that calls it.
/// </summary>
internal sealed class DemotedWorkers : IDisposable
{
    private readonly BlockingCollection<Action> queue = new();
    private readonly Thread[] threads;

    public DemotedWorkers(int count, int nice)
    {
        Nice = nice;
        threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            // The name is what /proc/<pid>/task/<tid>/comm shows (15 characters at most).
            threads[i] = new Thread(Work) { IsBackground = true, Name = $"aetherra-embed{i}" };
            threads[i].Start();
        }
    }

    public int Nice { get; }

    private void Work()
    {
        ThreadNice.SetCurrent(Nice);
        foreach (var action in queue.GetConsumingEnumerable()) action();
    }

    /// <summary>
    /// Runs <paramref name="body"/> for every index below <paramref name="count"/> on the workers (as many at once as
    /// there are workers), and completes when all have run; the first exception (or the cancellation) faults it.
    /// </summary>
    public Task ForAsync(int count, Action<int> body, CancellationToken ct)
    {
        if (count == 0) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var next = -1;
        var running = Math.Min(count, threads.Length);
        var left = running;
        Exception? failure = null;
        for (var w = 0; w < running; w++)
            queue.Add(() =>
            {
                try
                {
                    int i;
                    while (Volatile.Read(ref failure) is null && (i = Interlocked.Increment(ref next)) < count)
                    {
                        ct.ThrowIfCancellationRequested();
                        body(i);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
                if (Interlocked.Decrement(ref left) > 0) return;
                if (failure is OperationCanceledException) done.SetCanceled(ct);
                else if (failure is not null) done.SetException(failure);
                else done.SetResult();
            }, CancellationToken.None);
        return done.Task;
    }

    public void Dispose() => queue.CompleteAdding();
}

using System.Threading.Channels;
using Serilog.Core;
using Serilog.Events;

namespace Aetherra.Infrastructure.Logging;

/// <summary>
/// Hands each log event to one writer (an asynchronous loop on the thread pool, which waits for events without blocking
/// or spinning a thread) instead of writing it to the console on the thread that logged it. The
/// console sink writes under a lock, one system call per line; with every request logging a line, request threads
/// queued on that lock (4 % of the server's on-CPU samples at 32 clients were threads spinning for it, another 2 %
/// the write itself; docs/benchmarks.md). Events keep their order (one reader), and nothing is dropped: when 10,000 are
/// waiting, the logging thread waits for room. On disposal and at process exit the queue is written out first.
/// AETHERRA_LOG_WRITES=inline writes on the logging thread as before.
/// </summary>
public sealed class BackgroundSink : ILogEventSink, IDisposable
{
    private readonly ILogEventSink _inner;
    private readonly Channel<LogEvent> _queue =
        Channel.CreateBounded<LogEvent>(new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Task _writer;
    private int _disposed;

    public BackgroundSink(ILogEventSink inner)
    {
        _inner = inner;
        _writer = Task.Run(WriteAsync);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public void Emit(LogEvent logEvent)
    {
        if (_queue.Writer.TryWrite(logEvent)) return;
        try
        {
            // Full: wait for room (back-pressure, not loss). Closed (disposing): write it here.
            _queue.Writer.WriteAsync(logEvent).AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException)
        {
            _inner.Emit(logEvent);
            (_inner as IBatchedSink)?.Flush();
        }
    }

    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        var batched = _inner as IBatchedSink;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var logEvent))
            {
                try
                {
                    _inner.Emit(logEvent);
                }
                catch
                {
                    // A sink that throws must not stop the writer (Serilog's own sinks swallow theirs the same way).
                }
            }
            if (batched is null) continue;
            // The queue is empty: one write for the batch. Then let the next lines gather for a moment (they are
            // written at most BatchWindow later), so that a busy server writes its log a few dozen times a second,
            // not once per request (each a system call, and a thread woken to make it).
            try
            {
                batched.Flush();
            }
            catch
            {
                // As above: a full disk or a closed pipe must not stop the writer.
            }
            if (!reader.Completion.IsCompleted) await Task.Delay(BatchWindow).ConfigureAwait(false);
        }
        try
        {
            batched?.Flush();
        }
        catch
        {
            // Nothing more to do at exit.
        }
    }

    /// <summary>How long a batched sink's lines may wait to be written together (<see cref="IBatchedSink"/>).</summary>
    public static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(10);

    private void OnProcessExit(object? sender, EventArgs e) => Drain();

    private void Drain()
    {
        _queue.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(5));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        Drain();
        (_inner as IDisposable)?.Dispose();
    }
}

using Aetherra.Infrastructure.Logging;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace Aetherra.Integration.Tests;

/// <summary>
/// The server's log lines are written by one writer behind a queue (BackgroundSink): none may be lost, reordered for
/// the thread that logged them, or left in the queue when the logger is disposed (a SIGTERM'd server's last lines).
/// </summary>
public sealed class BackgroundSinkTests
{
    private sealed class Collecting : ILogEventSink, IDisposable
    {
        public readonly List<LogEvent> Events = [];
        public bool Disposed;
        public void Emit(LogEvent logEvent)
        {
            // Slower than the loggers, so that the queue fills and the loggers wait for room.
            if (Events.Count % 1_000 == 0) Thread.Sleep(1);
            lock (Events) Events.Add(logEvent);
        }
        public void Dispose() => Disposed = true;
    }

    private static LogEvent Event(int thread, int n) => new(DateTimeOffset.UtcNow, LogEventLevel.Information, null,
        new MessageTemplateParser().Parse("{Thread} {N}"),
        [new LogEventProperty("Thread", new ScalarValue(thread)), new LogEventProperty("N", new ScalarValue(n))]);

    [Fact]
    public void every_event_is_written_once_in_each_threads_order_before_dispose_returns()
    {
        var inner = new Collecting();
        var sink = new BackgroundSink(inner);
        const int threads = 8, each = 5_000;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (var n = 0; n < each; n++) sink.Emit(Event(t, n));
        });

        sink.Dispose();

        Assert.True(inner.Disposed);
        Assert.Equal(threads * each, inner.Events.Count);
        foreach (var perThread in inner.Events.GroupBy(e => (int)((ScalarValue)e.Properties["Thread"]).Value!))
            Assert.Equal(Enumerable.Range(0, each), perThread.Select(e => (int)((ScalarValue)e.Properties["N"]).Value!));
    }

    [Fact]
    public void an_event_logged_after_dispose_is_written_on_the_logging_thread()
    {
        var inner = new Collecting();
        var sink = new BackgroundSink(inner);
        sink.Dispose();

        sink.Emit(Event(0, 1));

        Assert.Single(inner.Events);
    }
}

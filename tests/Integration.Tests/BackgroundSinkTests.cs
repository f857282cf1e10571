using Aetherra.Infrastructure.Logging;
using Serilog.Core;
using Serilog.Events;
using Serilog;
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

/// <summary>
/// Redirected console output is written a batch at a time (BufferedConsoleSink behind the BackgroundSink): the same text
/// as Serilog's console sink writes to a redirected console, every line written before the logger is disposed, and
/// each batch flushed when the writer has emptied its queue, not only at the end.
/// </summary>
public sealed class BufferedConsoleSinkTests
{
    private const string Template = SerilogSetup.TextTemplate;

    private static LogEvent Line(string message, Exception? exception = null) => new(
        new DateTimeOffset(2026, 12, 7, 18, 30, 5, TimeSpan.Zero), LogEventLevel.Warning, exception,
        new MessageTemplateParser().Parse("{Method} {Path} answered {StatusCode} in {Elapsed:0.0} ms: {Detail} {Data}"),
        [new LogEventProperty("Method", new ScalarValue("POST")), new LogEventProperty("Path", new ScalarValue(message)),
         new LogEventProperty("StatusCode", new ScalarValue(400)), new LogEventProperty("Elapsed", new ScalarValue(12.345)),
         new LogEventProperty("Detail", new ScalarValue("quoted \"text\"")),
         new LogEventProperty("Data", new StructureValue([new LogEventProperty("a", new ScalarValue(1))])),
         new LogEventProperty("RequestId", new ScalarValue(Guid.Parse("01a251bb-0d37-7567-878b-3a393839d2d6")))]);

    [Fact]
    public void a_line_reads_as_the_console_sink_writes_it_to_a_redirected_console()
    {
        var e = Line("/memories", new InvalidOperationException("boom"));
        using var stream = new MemoryStream();
        using (var sink = new BufferedConsoleSink(SerilogSetup.ConsoleTextFormatter(Template)!, stream))
            sink.Emit(e);
        var buffered = System.Text.Encoding.UTF8.GetString(stream.ToArray());

        // Serilog's console sink, as the server used it on a redirected console (no colours), writing to Console.Out.
        var captured = new StringWriter();
        var original = System.Console.Out;
        System.Console.SetOut(captured);
        try
        {
            using var console = new Serilog.LoggerConfiguration()
                .WriteTo.Console(outputTemplate: Template, theme: Serilog.Sinks.SystemConsole.Themes.ConsoleTheme.None).CreateLogger();
            console.Write(e);
        }
        finally
        {
            System.Console.SetOut(original);
        }

        Assert.StartsWith("[18:30:05 WRN] POST /memories answered 400 in 12.3 ms: quoted", buffered.Replace(
            new DateTimeOffset(2026, 12, 7, 18, 30, 5, TimeSpan.Zero).ToLocalTime().ToString("HH:mm:ss"), "18:30:05"));
        Assert.Contains("01a251bb-0d37-7567-878b-3a393839d2d6", buffered);
        Assert.Contains("boom", buffered);
        // Other tests may write to the console meanwhile: the console sink's line must be there, whole.
        Assert.Contains(buffered, captured.ToString());
    }

    private sealed class Counting : ILogEventSink, IBatchedSink
    {
        public readonly List<LogEvent> Events = [];
        public int Flushes;
        public int FlushedAt;
        public void Emit(LogEvent logEvent) { lock (Events) Events.Add(logEvent); }
        public void Flush() { lock (Events) { Flushes++; FlushedAt = Events.Count; } }
    }

    [Fact]
    public async Task a_batch_is_flushed_once_the_queue_is_empty_and_everything_at_dispose()
    {
        var inner = new Counting();
        var sink = new BackgroundSink(inner);
        for (var i = 0; i < 100; i++) sink.Emit(Line("/a"));

        // Not a wait for time to pass: the writer flushes as soon as it has emptied the queue, which the loop observes.
        for (var spins = 0; Volatile.Read(ref inner.FlushedAt) < 100 && spins < 500; spins++) await Task.Delay(10);
        Assert.Equal(100, inner.FlushedAt);
        Assert.InRange(inner.Flushes, 1, 100);

        sink.Emit(Line("/b"));
        sink.Dispose();
        Assert.Equal(101, inner.Events.Count);
        Assert.Equal(101, inner.FlushedAt);
    }
}

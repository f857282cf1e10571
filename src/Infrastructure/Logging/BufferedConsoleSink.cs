using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Aetherra.Infrastructure.Logging;

/// <summary>A sink whose writes are held until <see cref="Flush"/>: the <see cref="BackgroundSink"/> flushes once per batch it drains.</summary>
public interface IBatchedSink
{
    void Flush();
}

/// <summary>
/// The console's lines, formatted as the console sink formats them when its output is redirected (no colours), written
/// through one buffer to standard output (or error) and flushed once per batch by the <see cref="BackgroundSink"/>'s
/// writer, instead of one system call (and the console's lock) per line: with every request logging a line, the
/// console's writes were about a tenth of a cheap request's CPU (docs/benchmarks.md, "The request pipeline's CPU").
/// Used only when the stream is redirected (a file, a pipe, a service manager's journal); on a terminal the console sink
/// keeps its colours. AETHERRA_LOG_FLUSH=line brings the console sink back everywhere.
/// </summary>
public sealed class BufferedConsoleSink(ITextFormatter formatter, Stream output) : ILogEventSink, IBatchedSink, IDisposable
{
    private readonly StreamWriter _writer = new(output, new UTF8Encoding(false), 64 * 1024) { AutoFlush = false };
    private readonly Lock _lock = new();

    public void Emit(LogEvent logEvent)
    {
        lock (_lock) formatter.Format(logEvent, _writer);
    }

    public void Flush()
    {
        lock (_lock) _writer.Flush();
    }

    public void Dispose() => Flush();
}

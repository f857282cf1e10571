using Serilog.Core;
using Serilog.Events;

namespace Aetherra.Infrastructure.Logging;

/// <summary>
/// Wolverine logs a request body it cannot read as JSON at error level with the parser's stack trace: a client's
/// mistake, answered 400, that filled 3.5 MB of log in 25 minutes (issue 13). Those events go on as one-line
/// warnings that keep the parser's message (where in the body it failed) and drop the stack trace.
/// </summary>
public sealed class ClientErrorDemotion(ILogEventSink inner) : ILogEventSink, IBatchedSink, IDisposable
{
    public void Flush() => (inner as IBatchedSink)?.Flush();

    private static readonly string[] ClientErrorTemplates =
    [
        "Error trying to deserialize JSON from incoming HTTP body",
        "The request body at {Url} could not be read",
    ];

    public void Emit(LogEvent e)
    {
        if (e.Level < LogEventLevel.Error || !ClientErrorTemplates.Any(t => e.MessageTemplate.Text.StartsWith(t, StringComparison.Ordinal)))
        {
            inner.Emit(e);
            return;
        }
        var properties = e.Properties.Select(p => new LogEventProperty(p.Key, p.Value)).ToList();
        if (e.Exception is { } exception)
            properties.Add(new LogEventProperty("Reason", new ScalarValue(exception.Message)));
        var template = new Serilog.Parsing.MessageTemplateParser().Parse(
            e.MessageTemplate.Text + (e.Exception is null ? "" : ": {Reason}"));
        inner.Emit(new LogEvent(e.Timestamp, LogEventLevel.Warning, null, template, properties, e.TraceId ?? default, e.SpanId ?? default));
    }

    public void Dispose() => (inner as IDisposable)?.Dispose();
}

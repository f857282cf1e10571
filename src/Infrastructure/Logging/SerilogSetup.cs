using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Aetherra.Infrastructure.Logging;

public static class SerilogSetup
{
    /// <summary>The text format of a log line (AETHERRA_LOG_FORMAT unset).</summary>
    public const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {RequestId}{NewLine}{Exception}";

    /// <summary>
    /// The console sink's own renderer of an output template without colours, as it writes to a redirected console
    /// (Serilog.Sinks.Console keeps it internal; Serilog's MessageTemplateTextFormatter spaces JSON differently). Null if
    /// this version of the sink has no such type: the console sink is then used as it is.
    /// </summary>
    public static Serilog.Formatting.ITextFormatter? ConsoleTextFormatter(string template)
    {
        try
        {
            var type = typeof(Serilog.Sinks.SystemConsole.Themes.ConsoleTheme).Assembly
                .GetType("Serilog.Sinks.SystemConsole.Output.OutputTemplateRenderer");
            return type is null ? null : Activator.CreateInstance(type,
                System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic,
                null, [Serilog.Sinks.SystemConsole.Themes.ConsoleTheme.None, template, null], null) as Serilog.Formatting.ITextFormatter;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>Structured logs: JSON lines when AETHERRA_LOG_FORMAT=json, readable text otherwise.</summary>
    public static void Configure(LoggerConfiguration lc, IConfiguration config)
    {
        lc.MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .MinimumLevel.Override("Wolverine", LogEventLevel.Warning)
            .MinimumLevel.Override("Marten", LogEventLevel.Warning)
            .MinimumLevel.Override("JasperFx", LogEventLevel.Warning)
            .MinimumLevel.Override("Npgsql", LogEventLevel.Warning)
            // Aetherra has HTTP endpoints and no message handlers, by design: Wolverine's warning about that is noise.
            .Filter.ByExcluding(e => e.MessageTemplate.Text.StartsWith("Wolverine found no handlers", StringComparison.Ordinal))
            // A write that meets a known content (the dedup index) or a destroyed cached key (the key proof) is
            // refused by the store by design and retried by the writer; Marten's dump of that batch, with its
            // parameters (subjects, sealed content), is neither an error nor something a log should hold.
            .Filter.ByExcluding(e => e.Exception is { } x && Database.StoreFailures.Postgres(x) is { } pg
                                     && (pg is { SqlState: "23505", ConstraintName: "mt_doc_memory_uidx_dedup" }
                                         || pg.SqlState == Crypto.SubjectKeyStore.KeyGoneSqlState)
                                     && e.MessageTemplate.Text.StartsWith("Marten encountered an exception", StringComparison.Ordinal))
            // The MCP SDK logs every request at Information; the request log line of /mcp says enough.
            .MinimumLevel.Override("ModelContextProtocol", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        // A command-line verb's standard output is its result: its logs go to standard error (Program.cs sets this).
        LogEventLevel? stderrFrom = config["AETHERRA_LOG_TO_STDERR"] == "1" ? LogEventLevel.Verbose : null;
        var json = string.Equals(config["AETHERRA_LOG_FORMAT"], "json", StringComparison.OrdinalIgnoreCase);
        // Written by one thread of its own (BackgroundSink) unless AETHERRA_LOG_WRITES=inline.
        var inline = MeasurementSwitches.InlineLogWrites;
        const string template = TextTemplate;
        var toStderr = stderrFrom is not null;
        // Redirected output (a file, a pipe, a journal) is written a batch at a time by the background writer
        // (BufferedConsoleSink) in the console sink's own format; a terminal keeps the console sink and its colours.
        // AETHERRA_LOG_FLUSH=line: always the console sink.
        if (!inline && !MeasurementSwitches.LineFlushedLogs && (toStderr ? Console.IsErrorRedirected : Console.IsOutputRedirected)
            && (json ? new CompactJsonFormatter() : ConsoleTextFormatter(template)) is { } formatter)
        {
            lc.WriteTo.Sink(new BackgroundSink(new ClientErrorDemotion(
                new BufferedConsoleSink(formatter, toStderr ? Console.OpenStandardError() : Console.OpenStandardOutput()))));
        }
        else
            lc.WriteTo.Sink(Serilog.Configuration.LoggerSinkConfiguration.Wrap(
                sink => inline ? new ClientErrorDemotion(sink) : new BackgroundSink(new ClientErrorDemotion(sink)), to =>
            {
                if (json) to.Console(new CompactJsonFormatter(), standardErrorFromLevel: stderrFrom);
                else to.Console(outputTemplate: template, standardErrorFromLevel: stderrFrom);
            }));
        if (config["AETHERRA_LOG_LEVEL"] is { } level && Enum.TryParse<LogEventLevel>(level, true, out var min))
            lc.MinimumLevel.Is(min);
        // Debug for some namespaces only (comma-separated prefixes), e.g. a reply's and a recall's step timings
        // without every library's debug lines: AETHERRA_LOG_DEBUG=Aetherra.Application.Conversations,Aetherra.Application.Recall
        foreach (var prefix in (config["AETHERRA_LOG_DEBUG"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            lc.MinimumLevel.Override(prefix, LogEventLevel.Debug);
    }
}

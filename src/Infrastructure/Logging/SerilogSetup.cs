using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Aetherra.Infrastructure.Logging;

public static class SerilogSetup
{
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
            // The MCP SDK logs every request at Information; the request log line of /mcp says enough.
            .MinimumLevel.Override("ModelContextProtocol", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        if (string.Equals(config["AETHERRA_LOG_FORMAT"], "json", StringComparison.OrdinalIgnoreCase))
            lc.WriteTo.Console(new CompactJsonFormatter());
        else
            lc.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {RequestId}{NewLine}{Exception}");
        if (config["AETHERRA_LOG_LEVEL"] is { } level && Enum.TryParse<LogEventLevel>(level, true, out var min))
            lc.MinimumLevel.Is(min);
    }
}

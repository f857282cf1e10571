using Aetherra.Infrastructure.Jobs;
using Aetherra.Infrastructure.Telemetry;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Aetherra.Api.Hosting;

/// <summary>
/// Metrics in Prometheus text at /metrics (ASP.NET Core, .NET runtime, Npgsql, Marten, Wolverine and
/// Aetherra's own instruments), and traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
/// </summary>
public static class Observability
{
    public static IServiceCollection AddAetherraTelemetry(this IServiceCollection services, IConfiguration config)
    {
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("aetherra", serviceInstanceId: JobRunner.Node))
            .WithMetrics(m => m
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("Npgsql", "Marten*", "Wolverine*", AetherraMetrics.Name)
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            otel.WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments("/metrics"))
                .AddNpgsql()
                .AddSource("Marten*", "Wolverine*", AetherraMetrics.Name)
                .AddOtlpExporter());
        return services;
    }

    public static WebApplication MapMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}

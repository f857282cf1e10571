using Aetherra.Application.Plugins;
using Aetherra.Domain.Ai;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aetherra.Application.Ai;

public static class AiConfiguration
{
    public const string ProvidersConfiguredName = "ai.providers-configured.v1";

    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<ProvidersConfigured>(ProvidersConfiguredName);
        opts.Events.MapEventType<CompletionRecorded>("ai.completion-recorded.v1");
        // Async: model calls are many, and their figures need not hold up the reply that made them.
        opts.Projections.Add<AiUsageProjection>(ProjectionLifecycle.Async);
    }

    public static IServiceCollection AddAi(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(AiSettings.From(config));
        services.AddSingleton<AiProviders>();
        return services;
    }
}

/// <summary>Model calls of one tenant, provider and model: counts, failures, tokens and latency percentiles.</summary>
public sealed class AiUsage
{
    public string Id { get; set; } = "";
    public string Provider { get; set; } = "";
    public string Model { get; set; } = "";
    public long TokensIn { get; set; }
    public long TokensOut { get; set; }
    public InvocationFigures Calls { get; set; } = new();
    /// <summary>Time to first token of the most recent successful calls (same window as the latencies).</summary>
    public List<double> RecentFirstTokenMs { get; set; } = [];
}

/// <summary>AiUsage, async, in the tenant of the calls; reads only event data, so a rebuild reaches the same figures.</summary>
public sealed partial class AiUsageProjection : MultiStreamProjection<AiUsage, string>
{
    public const string ProjectionName = "AiUsage";

    public AiUsageProjection()
    {
        Name = ProjectionName;
        Identity<CompletionRecorded>(e => $"{e.Provider}\u001f{e.Model}");
    }

    public static void Apply(CompletionRecorded e, AiUsage usage)
    {
        usage.Id = $"{e.Provider}\u001f{e.Model}";
        usage.Provider = e.Provider;
        usage.Model = e.Model;
        usage.TokensIn += e.TokensIn ?? 0;
        usage.TokensOut += e.TokensOut ?? 0;
        usage.Calls.Record(e.LatencyMs, !e.Succeeded, e.ErrorClass, e.At);
        if (e.FirstTokenMs is { } first)
        {
            usage.RecentFirstTokenMs.Add(first);
            if (usage.RecentFirstTokenMs.Count > InvocationFigures.Window) usage.RecentFirstTokenMs.RemoveAt(0);
        }
    }
}

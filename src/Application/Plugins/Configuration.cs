using System.Globalization;
using System.Net.Http;
using Aetherra.Domain.Plugins;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Aetherra.Application.Plugins;

/// <summary>
/// How plugins are reached. From configuration: AETHERRA_PLUGIN_HOSTS (comma-separated host or host:port; empty
/// allows no endpoint at all), AETHERRA_PLUGIN_TIMEOUT_MS (default 5000), AETHERRA_PLUGIN_MAX_RESPONSE_BYTES
/// (default 1 MiB), AETHERRA_PLUGIN_BREAKER_MIN_CALLS (default 5), AETHERRA_PLUGIN_BREAKER_FAILURE_RATIO
/// (default 0.5), AETHERRA_PLUGIN_BREAK_SECONDS (default 30).
/// </summary>
public sealed record PluginSettings(
    PluginHosts Hosts, TimeSpan Timeout, int MaxResponseBytes, int BreakerMinimumCalls, double BreakerFailureRatio, TimeSpan BreakDuration)
{
    public static PluginSettings From(IConfiguration config)
    {
        double Number(string name, double fallback) =>
            double.TryParse(config[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : fallback;
        var settings = new PluginSettings(
            PluginHosts.Parse(config["AETHERRA_PLUGIN_HOSTS"]),
            TimeSpan.FromMilliseconds(Number("AETHERRA_PLUGIN_TIMEOUT_MS", 5_000)),
            (int)Number("AETHERRA_PLUGIN_MAX_RESPONSE_BYTES", 1024 * 1024),
            (int)Number("AETHERRA_PLUGIN_BREAKER_MIN_CALLS", 5),
            Number("AETHERRA_PLUGIN_BREAKER_FAILURE_RATIO", 0.5),
            TimeSpan.FromSeconds(Number("AETHERRA_PLUGIN_BREAK_SECONDS", 30)));
        if (settings.Timeout <= TimeSpan.Zero || settings.MaxResponseBytes <= 0 || settings.BreakerMinimumCalls < 2
            || settings.BreakerFailureRatio is <= 0 or > 1 || settings.BreakDuration < TimeSpan.FromMilliseconds(500))
            throw new InvalidOperationException($"Invalid plugin settings: {settings}");
        return settings;
    }
}

public static class PluginConfiguration
{
    public const string HttpClientName = "plugins";

    /// <summary>The request option that names the plugin a call is for: the key of its own circuit breaker.</summary>
    public static readonly HttpRequestOptionsKey<string> BreakerKey = new("aetherra.plugin");

    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<PublisherKeyTrusted>("trust.publisher-key-trusted.v1");
        opts.Events.MapEventType<PublisherKeyRevoked>("trust.publisher-key-revoked.v1");
        opts.Events.MapEventType<PluginRegistered>("plugin.registered.v1");
        opts.Events.MapEventType<PluginUpgraded>("plugin.upgraded.v1");
        opts.Events.MapEventType<PluginEnabled>("plugin.enabled.v1");
        opts.Events.MapEventType<PluginDisabled>("plugin.disabled.v1");
        opts.Events.MapEventType<PluginRetired>("plugin.retired.v1");
        opts.Events.MapEventType<PluginInvocationCompleted>("plugin.invocation-completed.v1");
        opts.Events.MapEventType<PluginInvocationFailed>("plugin.invocation-failed.v1");

        // Inline: every lifecycle command decides on this state, and the catalog reads it as soon as it commits.
        opts.Projections.Add<PluginProjection>(ProjectionLifecycle.Inline);
        opts.Projections.Add<PublisherKeyProjection>(ProjectionLifecycle.Inline);
        opts.Schema.For<Plugin>().Index(x => x.PublisherKeyId);
        // Async: invocations are many, and their figures need not hold up the call that made them.
        opts.Projections.Add<PluginAnalyticsProjection>(ProjectionLifecycle.Async);
        Hub.HubConfiguration.Configure(opts);
    }

    /// <summary>
    /// The HTTP client every invocation goes through: no automatic redirects, no cookies, and per plugin a
    /// pipeline of retry (only for connections that could not be made: the request never left, so re-sending
    /// cannot run it twice), a circuit breaker, and a timeout per attempt.
    /// </summary>
    public static IServiceCollection AddPlugins(this IServiceCollection services, PluginSettings settings)
    {
        services.AddSingleton(settings);
        services.AddHttpClient(HttpClientName, c => c.Timeout = System.Threading.Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                ConnectTimeout = settings.Timeout,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            })
            .AddResilienceHandler("plugin", pipeline =>
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 2,
                    Delay = TimeSpan.FromMilliseconds(50),
                    BackoffType = DelayBackoffType.Exponential,
                    ShouldHandle = args => ValueTask.FromResult(
                        args.Outcome.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }),
                });
                pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = settings.BreakerFailureRatio,
                    MinimumThroughput = settings.BreakerMinimumCalls,
                    SamplingDuration = TimeSpan.FromSeconds(Math.Max(30, settings.BreakDuration.TotalSeconds)),
                    BreakDuration = settings.BreakDuration,
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                    {
                        { Exception: HttpRequestException or TimeoutRejectedException } => true,
                        { Result: { } response } => (int)response.StatusCode >= 500,
                        _ => false,
                    }),
                });
                pipeline.AddTimeout(settings.Timeout);
            })
            // One pipeline, and so one breaker, per tenant and plugin: a failing plugin never blocks another.
            .SelectPipelineBy(_ => request =>
                request.Options.TryGetValue(BreakerKey, out var key) ? key : request.RequestUri?.Authority ?? "");
        services.AddSingleton<PluginInvoker>();
        return services;
    }
}

using System.Globalization;
using Aetherra.Domain.SelfModel;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.SelfModel;

/// <summary>AETHERRA_SELF_SNAPSHOT_MINUTES: how often each node takes a self-snapshot (default 15; 0 turns it off).</summary>
public sealed record SelfModelSettings(TimeSpan? Every)
{
    public static SelfModelSettings From(IConfiguration config)
    {
        var minutes = double.TryParse(config["AETHERRA_SELF_SNAPSHOT_MINUTES"], NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : 15;
        if (minutes < 0) throw new InvalidOperationException("AETHERRA_SELF_SNAPSHOT_MINUTES must be 0 (off) or more");
        return new SelfModelSettings(minutes == 0 ? null : TimeSpan.FromMinutes(minutes));
    }
}

public static class SelfModelConfiguration
{
    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<SelfSnapshotTaken>("self.snapshot-taken.v1");
        opts.Projections.Add(new SelfModelProjection(), ProjectionLifecycle.Async);
    }

    public static IServiceCollection AddSelfModel(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(SelfModelSettings.From(config));
        services.AddSingleton<TakeSelfSnapshot>();
        // A timer of the whole cluster: the host runs it on one node (Api's cluster timers).
        services.AddSingleton<PeriodicSelfSnapshots>();
        return services;
    }
}

/// <summary>Every configured interval, this node's self-snapshot; a failed one is logged and the next one tried.</summary>
public sealed class PeriodicSelfSnapshots(SelfModelSettings settings, TakeSelfSnapshot snapshot, TimeProvider clock, ILogger<PeriodicSelfSnapshots> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Every is not { } every) return;
        using var timer = new PeriodicTimer(every, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await snapshot.HandleAsync("system", Guid.CreateVersion7(), stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning(e, "The periodic self-snapshot failed; the next one is in {Every}", every);
            }
        }
    }
}

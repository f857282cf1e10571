using System.Globalization;
using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Plugins.Hub;

/// <summary>Audit action names of the hub's commands (also the endpoints' operation ids).</summary>
public static class HubActions
{
    public const string AddSource = "hub.source-add";
    public const string Sync = "hub.source-sync";
    public const string Import = "hub.plugin-import";
}

/// <summary>How often every source of every tenant is synced: AETHERRA_HUB_SYNC_SECONDS (default 3600; 0 turns the schedule off).</summary>
public sealed record HubSettings(TimeSpan? SyncEvery)
{
    public static HubSettings From(IConfiguration config)
    {
        var seconds = double.TryParse(config["AETHERRA_HUB_SYNC_SECONDS"], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 3600;
        if (seconds < 0) throw new InvalidOperationException("AETHERRA_HUB_SYNC_SECONDS must be 0 (off) or more");
        return new HubSettings(seconds == 0 ? null : TimeSpan.FromSeconds(Math.Max(seconds, 1)));
    }
}

public static class HubConfiguration
{
    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<HubSourceAdded>("hub.source-added.v1");
        opts.Events.MapEventType<HubCatalogueSynced>("hub.catalogue-synced.v1");
        opts.Events.MapEventType<HubCatalogueRefused>("hub.catalogue-refused.v1");
        opts.Events.MapEventType<HubManifestRefused>("hub.manifest-refused.v1");
        opts.Events.MapEventType<HubPluginImported>("hub.plugin-imported.v1");
        // Inline: a sync decides on the source's state, and the import right after it must see the offers.
        opts.Projections.Add<HubSourceProjection>(ProjectionLifecycle.Inline);
    }

    public static IServiceCollection AddHub(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(HubSettings.From(config));
        services.AddSingleton<HubSync>();
        // A timer of the whole cluster: the host runs it on one node (Api's cluster timers).
        services.AddSingleton<HubScheduledSync>();
        return services;
    }
}

public sealed partial class HubSourceProjection : SingleStreamProjection<HubSource, Guid>
{
    public static HubSource Create(HubSourceAdded e) => HubSource.Create(e);
    public static HubSource Apply(HubCatalogueSynced e, HubSource s) => s.Apply(e);
    public static HubSource Apply(HubCatalogueRefused e, HubSource s) => s.Apply(e);
    public static HubSource Apply(HubManifestRefused e, HubSource s) => s.Apply(e);
    public static HubSource Apply(HubPluginImported e, HubSource s) => s.Apply(e);
}

/// <summary>
/// Every <see cref="HubSettings.SyncEvery"/>, syncs every source of every tenant, each in its own tenant's session
/// and audited as the actor "hub". A failure of one source is logged and does not stop the others.
/// </summary>
public sealed class HubScheduledSync(HubSettings settings, HubSync sync, IDocumentStore store, TimeProvider clock, ILogger<HubScheduledSync> log)
    : BackgroundService
{
    public const string Actor = "hub";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.SyncEvery is not { } every) return;
        using var timer = new PeriodicTimer(every, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            List<(Guid Id, string Tenant)> sources;
            await using (var session = store.QuerySession())
                sources = (await session.Query<HubSource>().Where(s => s.AnyTenant()).ToListAsync(stoppingToken)).Select(s => (s.Id, s.Tenant)).ToList();
            foreach (var (id, tenant) in sources)
            {
                try
                {
                    var result = await sync.SyncAsync(id, new CommandContext(Actor, tenant, Guid.CreateVersion7(), HubActions.Sync), stoppingToken);
                    if (result.Reason is { } reason) log.LogWarning("Hub source {Source} of tenant {Tenant}: catalogue refused: {Reason}", id, tenant, reason);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    log.LogWarning(e, "The scheduled sync of hub source {Source} of tenant {Tenant} failed; the next one is in {Every}", id, tenant, every);
                }
            }
        }
    }
}

using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using Marten;

namespace Aetherra.Application.Plugins;

public sealed record CapabilityFigures(
    string Name, string? Description, long Invocations, double? SuccessRate, double? P50Ms, double? P95Ms, string? LastError);

public sealed record PluginSummary(
    string Id, string Name, string Version, string Category, string Status, string? StatusReason, string PublisherKeyId,
    long Invocations, double? SuccessRate, double? P50Ms, double? P95Ms, string? LastError, DateTimeOffset? LastErrorAt);

public sealed record PluginDetail(
    string Id, string Name, string Version, string Category, string Status, string? StatusReason, string PublisherKeyId,
    long Invocations, double? SuccessRate, double? P50Ms, double? P95Ms, string? LastError, DateTimeOffset? LastErrorAt,
    IReadOnlyList<CapabilityFigures> Capabilities, PluginManifest Manifest, DateTimeOffset RegisteredAt, DateTimeOffset UpdatedAt);

public sealed record PluginList(IReadOnlyList<PluginSummary> Items);

public sealed record PublisherKeyView(string KeyId, string Name, string PublicKey, string Status, string? RevokedReason, DateTimeOffset TrustedAt);

/// <summary>
/// The catalog (inline: status and manifest as of the last command) merged with PluginAnalytics (async: call
/// figures). Given minSequence, waits until the analytics have applied every call up to it.
/// </summary>
public static class ReadPlugins
{
    public static async Task<PluginList> List(string tenant, IDocumentStore store, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var plugins = await session.Query<Plugin>().OrderBy(p => p.PluginId).ToListAsync(ct);
        var figures = (await session.Query<PluginAnalytics>().ToListAsync(ct)).ToDictionary(a => a.Id);
        return new PluginList(plugins
            .Select(p => Summary(p, figures.GetValueOrDefault(p.Id)?.Overall ?? new InvocationFigures()))
            .ToList());
    }

    public static async Task<PluginDetail> Get(string tenant, string pluginId, IDocumentStore store, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var id = PluginStreams.Plugin(tenant, pluginId);
        var plugin = await session.LoadAsync<Plugin>(id, ct) ?? throw new NotFound("plugin");
        var analytics = await session.LoadAsync<PluginAnalytics>(id, ct) ?? new PluginAnalytics();
        var s = Summary(plugin, analytics.Overall);
        var capabilities = plugin.Manifest.Capabilities.Select(c =>
        {
            var f = analytics.Capabilities.GetValueOrDefault(c.Name) ?? new InvocationFigures();
            return new CapabilityFigures(c.Name, c.Description, f.Invocations, f.SuccessRate, f.P50Ms, f.P95Ms, f.LastError);
        }).ToList();
        return new PluginDetail(s.Id, s.Name, s.Version, s.Category, s.Status, s.StatusReason, s.PublisherKeyId, s.Invocations,
            s.SuccessRate, s.P50Ms, s.P95Ms, s.LastError, s.LastErrorAt, capabilities, plugin.Manifest, plugin.RegisteredAt, plugin.UpdatedAt);
    }

    public static async Task<IReadOnlyList<PublisherKeyView>> Publishers(string tenant, IDocumentStore store, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var keys = await session.Query<PublisherKey>().OrderBy(k => k.TrustedAt).ToListAsync(ct);
        return keys.Select(k => new PublisherKeyView(k.KeyId, k.Name, k.PublicKey, k.Revoked ? "revoked" : "trusted", k.RevokedReason, k.TrustedAt))
            .ToList();
    }

    private static PluginSummary Summary(Plugin p, InvocationFigures f) =>
        new(p.PluginId, p.Manifest.Name, p.Manifest.Version, p.Manifest.Category, RegisterPluginHandler.Status(p.Status), p.StatusReason,
            p.PublisherKeyId, f.Invocations, f.SuccessRate, f.P50Ms, f.P95Ms, f.LastError, f.LastErrorAt);
}

/// <summary>How a plugin has been doing lately, for homeostasis: failure rate over its recent calls (up to the window).</summary>
public sealed record PluginHealth(
    string Tenant, string PluginId, string Status, long Invocations, int RecentInvocations, double RecentFailureRate, DateTimeOffset? LastInvokedAt);

public static class PluginHealthQuery
{
    /// <summary>
    /// Every plugin with calls, in every tenant (or one tenant), from the PluginAnalytics read model: recent
    /// invocations are the last <see cref="InvocationFigures.Window"/> calls. As fresh as the async projection.
    /// </summary>
    public static async Task<IReadOnlyList<PluginHealth>> ReadAsync(IDocumentStore store, string? tenant, CancellationToken ct)
    {
        await using var session = tenant is null ? store.QuerySession() : store.QuerySession(tenant);
        var analytics = tenant is null
            ? await session.Query<PluginAnalytics>().Where(a => a.AnyTenant()).ToListAsync(ct)
            : await session.Query<PluginAnalytics>().ToListAsync(ct);
        var plugins = tenant is null
            ? await session.Query<Plugin>().Where(p => p.AnyTenant()).ToListAsync(ct)
            : await session.Query<Plugin>().ToListAsync(ct);
        var status = plugins.ToDictionary(p => p.Id, p => RegisterPluginHandler.Status(p.Status));
        return analytics
            .Select(a => new PluginHealth(a.Tenant, a.PluginId, status.GetValueOrDefault(a.Id, "unknown"), a.Overall.Invocations,
                a.Overall.RecentFailures.Count, a.Overall.RecentFailureRate ?? 0, a.Overall.LastInvokedAt))
            .OrderBy(h => h.Tenant, StringComparer.Ordinal).ThenBy(h => h.PluginId, StringComparer.Ordinal)
            .ToList();
    }
}

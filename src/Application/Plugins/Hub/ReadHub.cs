using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using Marten;

namespace Aetherra.Application.Plugins.Hub;

public sealed record HubOfferView(
    string PluginId, string Version, string Name, string Category, string Description, string PublisherKeyId, bool Imported,
    System.Text.Json.JsonElement Manifest, string Signature);

public sealed record HubSourceView(
    Guid Id, string Name, string Url, string PublicKeyId, bool HasAccessKey, DateTimeOffset AddedAt, DateTimeOffset? SyncedAt,
    string? CatalogueSha256, string? LastRefusal, DateTimeOffset? RefusedAt, int Offered, IReadOnlyList<HubOfferView>? Offers);

/// <summary>Sources of the caller's tenant and what each offers as of its last accepted sync (the access key is never shown).</summary>
public static class ReadHub
{
    public static async Task<IReadOnlyList<HubSourceView>> List(string tenant, IDocumentStore store, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var sources = await session.Query<HubSource>().OrderBy(s => s.AddedAt).ToListAsync(ct);
        return sources.Select(s => View(s, withOffers: false)).ToList();
    }

    public static async Task<HubSourceView> Get(string tenant, Guid id, IDocumentStore store, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var source = await session.LoadAsync<HubSource>(id, ct) ?? throw new NotFound("hub source");
        return View(source, withOffers: true);
    }

    private static HubSourceView View(HubSource s, bool withOffers) => new(
        s.Id, s.Name, s.Url, s.PublicKeyId, s.WrappedAccessKey is not null, s.AddedAt, s.SyncedAt, s.CatalogueSha256, s.LastRefusal, s.RefusedAt,
        s.Offers.Count,
        withOffers
            ? s.Offers.Select(o => new HubOfferView(o.PluginId, o.Version, o.Name, o.Category, o.Description, o.PublisherKeyId,
                s.Imported.Contains(o.PluginId), System.Text.Json.JsonDocument.Parse(o.CanonicalManifest).RootElement.Clone(), o.Signature)).ToList()
            : null);
}

namespace Aetherra.Domain.Plugins;

/// <summary>
/// A plugin another instance's catalogue offers, as verified at the last sync: its manifest is the RFC 8785 text the
/// plugin's publisher signed, and <paramref name="Signature"/> that signature (base64), so registering it later
/// re-verifies exactly what was offered.
/// </summary>
public sealed record HubOffer(
    string PluginId, string Version, string Name, string Category, string Description, string PublisherKeyId,
    string CanonicalManifest, string Signature);

/// <summary>
/// A tenant added another instance as a source of plugins: the URL of its signed catalogue and the public key
/// (Ed25519, base64) its catalogue must be signed with. <paramref name="WrappedAccessKey"/> is the API key of the
/// publishing instance, sealed under this installation's master key (never stored in the clear), or null.
/// </summary>
public sealed record HubSourceAdded(
    Guid StreamId, string Tenant, string Name, string Url, string PublicKey, string PublicKeyId, string? WrappedAccessKey, DateTimeOffset At);

/// <summary>A sync read a catalogue whose signature verified; it offers the plugins whose manifests verified too.</summary>
public sealed record HubCatalogueSynced(
    Guid StreamId, string CatalogueSha256, string Origin, string PublisherTenant, DateTimeOffset IssuedAt, IReadOnlyList<HubOffer> Offers,
    DateTimeOffset At);

/// <summary>A sync found no catalogue it could accept (unreachable, not signed by the source's key, malformed); offers are unchanged.</summary>
public sealed record HubCatalogueRefused(Guid StreamId, string Reason, string? CatalogueSha256, DateTimeOffset At);

/// <summary>One manifest of an accepted catalogue did not verify against this tenant's trust store; it is not offered.</summary>
public sealed record HubManifestRefused(Guid StreamId, string? PluginId, string? Version, string Reason, DateTimeOffset At);

/// <summary>An offered plugin was registered (or upgraded) in this tenant from the source.</summary>
public sealed record HubPluginImported(Guid StreamId, string PluginId, string Version, bool Upgraded, DateTimeOffset At);

/// <summary>A source of signed plugin catalogues, folded from its stream.</summary>
public sealed record HubSource(
    Guid Id, string Tenant, string Name, string Url, string PublicKey, string PublicKeyId, string? WrappedAccessKey,
    IReadOnlyList<HubOffer> Offers, string? CatalogueSha256, DateTimeOffset? SyncedAt, string? LastRefusal, DateTimeOffset? RefusedAt,
    IReadOnlyList<string> Imported, DateTimeOffset AddedAt, int Version)
{
    public static HubSource Create(HubSourceAdded e) =>
        new(e.StreamId, e.Tenant, e.Name, e.Url, e.PublicKey, e.PublicKeyId, e.WrappedAccessKey, [], null, null, null, null, [], e.At, 1);

    public HubSource Apply(HubCatalogueSynced e) =>
        this with { Offers = e.Offers, CatalogueSha256 = e.CatalogueSha256, SyncedAt = e.At, LastRefusal = null, RefusedAt = null, Version = Version + 1 };

    public HubSource Apply(HubCatalogueRefused e) => this with { LastRefusal = e.Reason, RefusedAt = e.At, Version = Version + 1 };

    public HubSource Apply(HubManifestRefused e) => this with { Version = Version + 1 };

    public HubSource Apply(HubPluginImported e) =>
        this with { Imported = [.. Imported.Where(i => i != e.PluginId), e.PluginId], Version = Version + 1 };
}

public static class HubDecisions
{
    /// <summary>
    /// A sync's events: a catalogue that could not be accepted is one refusal and nothing else (the previous offers
    /// stay); an accepted one replaces the offers with the manifests that verified and records each that did not.
    /// </summary>
    public static IReadOnlyList<object> Sync(
        HubSource source, HubCatalogueCheck check, DateTimeOffset now)
    {
        if (check.Refusal is { } reason) return [new HubCatalogueRefused(source.Id, reason, check.Sha256, now)];
        var offers = check.Offers.GroupBy(o => o.PluginId).Select(g => g.First()).ToList();
        var duplicates = check.Offers.Count - offers.Count;
        var events = new List<object> { new HubCatalogueSynced(source.Id, check.Sha256!, check.Origin!, check.PublisherTenant!, check.IssuedAt!.Value, offers, now) };
        events.AddRange(check.Refused.Select(r => new HubManifestRefused(source.Id, r.PluginId, r.Version, r.Reason, now)));
        if (duplicates > 0)
            events.Add(new HubManifestRefused(source.Id, null, null, $"{duplicates} entries repeat a plugin id already offered; the first of each is offered", now));
        return events;
    }

    /// <summary>Only what the source offers now can be imported; the registration itself re-verifies the manifest.</summary>
    public static HubOffer Offered(HubSource source, string pluginId) =>
        source.Offers.FirstOrDefault(o => o.PluginId == pluginId)
        ?? throw new DomainRuleViolated(source.SyncedAt is null
            ? $"source '{source.Name}' has not been synced yet; sync it first"
            : $"source '{source.Name}' does not offer plugin '{pluginId}' (as of its last sync)");
}

/// <summary>
/// What checking a fetched catalogue found: a refusal of the whole, or its offers and refused manifests. A value
/// handed to <see cref="HubDecisions.Sync"/>, never stored (a struct, so it is not taken for an event).
/// </summary>
public readonly record struct HubCatalogueCheck(
    string? Refusal, string? Sha256, string? Origin, string? PublisherTenant, DateTimeOffset? IssuedAt,
    IReadOnlyList<HubOffer> Offers, IReadOnlyList<HubRefusedManifest> Refused)
{
    public static HubCatalogueCheck Refusing(string reason, string? sha256 = null) => new(reason, sha256, null, null, null, [], []);
}

/// <summary>One manifest a check refused, and why (a value, never stored as such: the event is <see cref="HubManifestRefused"/>).</summary>
public readonly record struct HubRefusedManifest(string? PluginId, string? Version, string Reason);

using Aetherra.Domain.Plugins;

namespace Aetherra.Domain.Tests;

public sealed class HubTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private static HubSource Added() =>
        HubSource.Create(new HubSourceAdded(Guid.NewGuid(), "acme", "instance A", "http://127.0.0.1:5080/hub/catalogue", "pk", "kid", null, T0));

    private static HubOffer Offer(string id, string version = "1.0.0") => new(id, version, "n", "c", "d", "k1", "{}", "sig");

    private static HubSource Fold(HubSource source, IEnumerable<object> events) => events.Aggregate(source, (s, e) => e switch
    {
        HubCatalogueSynced x => s.Apply(x),
        HubCatalogueRefused x => s.Apply(x),
        HubManifestRefused x => s.Apply(x),
        HubPluginImported x => s.Apply(x),
        _ => throw new InvalidOperationException(e.GetType().Name),
    });

    private static HubCatalogueCheck Accepted(IReadOnlyList<HubOffer> offers, params HubRefusedManifest[] refused) =>
        new(null, "sha", "origin", "tenant", T0, offers, refused);

    [Fact]
    public void an_accepted_catalogue_replaces_the_offers_and_records_each_refused_manifest()
    {
        var source = Fold(Added(), HubDecisions.Sync(Added(), Accepted([Offer("com.example.a")]), T0));
        var events = HubDecisions.Sync(source, Accepted([Offer("com.example.b")], new HubRefusedManifest("com.example.c", "1.0.0", "not trusted")), T0.AddMinutes(1));

        Assert.IsType<HubCatalogueSynced>(events[0]);
        Assert.Equal("not trusted", Assert.IsType<HubManifestRefused>(Assert.Single(events.Skip(1))).Reason);
        var after = Fold(source, events);
        Assert.Equal(["com.example.b"], after.Offers.Select(o => o.PluginId));
        Assert.Equal(T0.AddMinutes(1), after.SyncedAt);
    }

    [Fact]
    public void a_refused_catalogue_is_one_refusal_and_keeps_the_earlier_offers()
    {
        var source = Fold(Added(), HubDecisions.Sync(Added(), Accepted([Offer("com.example.a")]), T0));
        var events = HubDecisions.Sync(source, HubCatalogueCheck.Refusing("the signature does not verify", "sha"), T0.AddMinutes(1));

        var refused = Assert.IsType<HubCatalogueRefused>(Assert.Single(events));
        Assert.Equal("the signature does not verify", refused.Reason);
        var after = Fold(source, events);
        Assert.Equal(["com.example.a"], after.Offers.Select(o => o.PluginId));
        Assert.Equal("the signature does not verify", after.LastRefusal);
    }

    [Fact]
    public void a_repeated_plugin_id_is_offered_once_and_the_repeat_recorded()
    {
        var events = HubDecisions.Sync(Added(), Accepted([Offer("com.example.a"), Offer("com.example.a", "2.0.0")]), T0);
        Assert.Equal("1.0.0", Assert.Single(Assert.IsType<HubCatalogueSynced>(events[0]).Offers).Version);
        Assert.IsType<HubManifestRefused>(Assert.Single(events.Skip(1)));
    }

    [Fact]
    public void only_an_offered_plugin_can_be_imported()
    {
        Assert.Contains("has not been synced", Assert.Throws<DomainRuleViolated>(() => HubDecisions.Offered(Added(), "com.example.a")).Message);
        var source = Fold(Added(), HubDecisions.Sync(Added(), Accepted([Offer("com.example.a")]), T0));
        Assert.Equal("com.example.a", HubDecisions.Offered(source, "com.example.a").PluginId);
        Assert.Contains("does not offer", Assert.Throws<DomainRuleViolated>(() => HubDecisions.Offered(source, "com.example.b")).Message);
    }
}

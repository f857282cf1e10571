using Aetherra.Domain.Plugins;

namespace Aetherra.Domain.Tests;

public sealed class PluginTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static PluginManifest Manifest(string version = "1.0.0", string keyId = "k1") =>
        new("com.example.weather", "Weather", version, "data", "Forecasts", "http://127.0.0.1/run", keyId, [new("forecast", null)]);

    private static Plugin Registered() =>
        Plugin.Create(PluginDecisions.Register(Manifest(), Guid.NewGuid(), "{}", "sig", T0));

    private static Plugin In(PluginStatus status)
    {
        var plugin = Registered();
        return status switch
        {
            PluginStatus.Registered => plugin,
            PluginStatus.Enabled => plugin.Apply(PluginDecisions.Enable(plugin, true, null, T0)),
            PluginStatus.Disabled => plugin.Apply(PluginDecisions.Disable(plugin, "off", T0)),
            _ => plugin.Apply(PluginDecisions.Retire(plugin, "gone", T0)),
        };
    }

    [Fact]
    public void a_registered_plugin_folds_to_version_1_registered_with_its_publisher()
    {
        var plugin = Registered();

        Assert.Equal(PluginStatus.Registered, plugin.Status);
        Assert.Equal(1, plugin.Version);
        Assert.Equal("k1", plugin.PublisherKeyId);
        Assert.Equal("com.example.weather", plugin.PluginId);
    }

    [Theory]
    [InlineData(PluginStatus.Registered, "enable", PluginStatus.Enabled)]
    [InlineData(PluginStatus.Disabled, "enable", PluginStatus.Enabled)]
    [InlineData(PluginStatus.Registered, "disable", PluginStatus.Disabled)]
    [InlineData(PluginStatus.Enabled, "disable", PluginStatus.Disabled)]
    [InlineData(PluginStatus.Registered, "retire", PluginStatus.Retired)]
    [InlineData(PluginStatus.Enabled, "retire", PluginStatus.Retired)]
    [InlineData(PluginStatus.Disabled, "retire", PluginStatus.Retired)]
    public void legal_moves_land_in_their_status_one_version_later(PluginStatus from, string move, PluginStatus to)
    {
        var plugin = In(from);

        var moved = Move(plugin, move);

        Assert.Equal(to, moved.Status);
        Assert.Equal(plugin.Version + 1, moved.Version);
    }

    [Theory]
    [InlineData(PluginStatus.Enabled, "enable")]
    [InlineData(PluginStatus.Retired, "enable")]
    [InlineData(PluginStatus.Disabled, "disable")]
    [InlineData(PluginStatus.Retired, "disable")]
    [InlineData(PluginStatus.Retired, "retire")]
    public void illegal_moves_are_refused(PluginStatus from, string move)
    {
        Assert.Throws<DomainRuleViolated>(() => Move(In(from), move));
    }

    [Fact]
    public void a_plugin_whose_publisher_is_no_longer_trusted_cannot_be_enabled()
    {
        Assert.Throws<DomainRuleViolated>(() => PluginDecisions.Enable(In(PluginStatus.Disabled), false, null, T0));
    }

    [Fact]
    public void an_upgrade_must_be_newer_and_signed_by_the_same_key()
    {
        var plugin = In(PluginStatus.Enabled);

        var upgraded = plugin.Apply(PluginDecisions.Upgrade(plugin, Manifest("1.2.0"), "{}", "sig", T0));

        Assert.Equal("1.2.0", upgraded.Manifest.Version);
        Assert.Equal(PluginStatus.Enabled, upgraded.Status);
        Assert.Throws<DomainRuleViolated>(() => PluginDecisions.Upgrade(plugin, Manifest("1.0.0"), "{}", "sig", T0));
        Assert.Throws<DomainRuleViolated>(() => PluginDecisions.Upgrade(plugin, Manifest("2.0.0", "k2"), "{}", "sig", T0));
        Assert.Throws<DomainRuleViolated>(() => PluginDecisions.Upgrade(In(PluginStatus.Retired), Manifest("2.0.0"), "{}", "sig", T0));
    }

    [Fact]
    public void only_an_enabled_plugin_offering_the_capability_is_invocable()
    {
        PluginDecisions.EnsureInvocable(In(PluginStatus.Enabled), "forecast");
        Assert.Throws<PluginNotEnabled>(() => PluginDecisions.EnsureInvocable(In(PluginStatus.Disabled), "forecast"));
        Assert.Throws<DomainRuleViolated>(() => PluginDecisions.EnsureInvocable(In(PluginStatus.Enabled), "teleport"));
    }

    [Fact]
    public void revocation_disables_only_plugins_that_could_still_run()
    {
        Assert.True(PluginDecisions.DisabledByRevocation(In(PluginStatus.Registered)));
        Assert.True(PluginDecisions.DisabledByRevocation(In(PluginStatus.Enabled)));
        Assert.False(PluginDecisions.DisabledByRevocation(In(PluginStatus.Disabled)));
        Assert.False(PluginDecisions.DisabledByRevocation(In(PluginStatus.Retired)));
    }

    [Theory]
    [InlineData("1.0.0", "2.0.0")]
    [InlineData("2.0.0", "2.1.0")]
    [InlineData("2.1.0", "2.1.1")]
    [InlineData("1.0.0-alpha", "1.0.0-alpha.1")]
    [InlineData("1.0.0-alpha.1", "1.0.0-alpha.beta")]
    [InlineData("1.0.0-alpha.beta", "1.0.0-beta")]
    [InlineData("1.0.0-beta", "1.0.0-beta.2")]
    [InlineData("1.0.0-beta.2", "1.0.0-beta.11")]
    [InlineData("1.0.0-beta.11", "1.0.0-rc.1")]
    [InlineData("1.0.0-rc.1", "1.0.0")]
    [InlineData("1.9.0", "1.10.0")]
    public void semantic_versions_order_as_the_specification_says(string lower, string higher)
    {
        Assert.True(SemVer.Compare(lower, higher) < 0);
        Assert.True(SemVer.Compare(higher, lower) > 0);
    }

    [Theory]
    [InlineData("1.0.0+build.1", "1.0.0+build.2")]
    [InlineData("1.0.0", "1.0.0")]
    public void build_metadata_does_not_order(string a, string b) => Assert.Equal(0, SemVer.Compare(a, b));

    [Theory]
    [InlineData("1.0")]
    [InlineData("01.0.0")]
    [InlineData("1.0.0-")]
    [InlineData("v1.0.0")]
    public void malformed_versions_are_not_versions(string version) => Assert.False(SemVer.IsValid(version));

    private static Plugin Move(Plugin plugin, string move) => move switch
    {
        "enable" => plugin.Apply(PluginDecisions.Enable(plugin, true, null, T0)),
        "disable" => plugin.Apply(PluginDecisions.Disable(plugin, "off", T0)),
        _ => plugin.Apply(PluginDecisions.Retire(plugin, "gone", T0)),
    };
}

using Aetherra.Domain.Plugins;
using Marten.Events.Aggregation;

namespace Aetherra.Application.Plugins;

/// <summary>The plugin catalog, folded by the domain's own Create/Apply (Domain stays free of Marten).</summary>
public sealed partial class PluginProjection : SingleStreamProjection<Plugin, Guid>
{
    public static Plugin Create(PluginRegistered e) => Plugin.Create(e);
    public static Plugin Apply(PluginUpgraded e, Plugin plugin) => plugin.Apply(e);
    public static Plugin Apply(PluginEnabled e, Plugin plugin) => plugin.Apply(e);
    public static Plugin Apply(PluginDisabled e, Plugin plugin) => plugin.Apply(e);
    public static Plugin Apply(PluginRetired e, Plugin plugin) => plugin.Apply(e);
}

/// <summary>The trust store: one document per publisher key.</summary>
public sealed partial class PublisherKeyProjection : SingleStreamProjection<PublisherKey, Guid>
{
    public static PublisherKey Create(PublisherKeyTrusted e) => PublisherKey.Create(e);
    public static PublisherKey Apply(PublisherKeyRevoked e, PublisherKey key) => key.Apply(e);
}

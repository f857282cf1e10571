using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using Marten;

namespace Aetherra.Application.Plugins;

/// <summary>Enables a registered or disabled plugin, provided the key that signed it is still trusted.</summary>
public static class EnablePluginHandler
{
    public static Task<PluginStatusResult> Handle(
        string pluginId, string? reason, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        PluginLifecycle.MoveAsync(pluginId, command, store, clock, async (session, current, now) =>
        {
            var key = await session.LoadAsync<PublisherKey>(PluginStreams.PublisherKey(command.Tenant, current.PublisherKeyId), ct);
            return PluginDecisions.Enable(current, key is { Revoked: false }, reason, now);
        }, ct);
}

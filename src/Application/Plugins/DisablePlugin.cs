using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using Marten;

namespace Aetherra.Application.Plugins;

/// <summary>
/// Disables a registered or enabled plugin. Also the hook for corrections outside HTTP (homeostasis): call it with
/// a <see cref="CommandContext"/> whose actor names the caller ("homeostasis"); the events and the audit record
/// are the same as through the endpoint.
/// </summary>
public static class DisablePluginHandler
{
    public static Task<PluginStatusResult> Handle(
        string pluginId, PluginReason request, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        PluginLifecycle.MoveAsync(pluginId, command, store, clock,
            (_, current, now) => Task.FromResult<object>(PluginDecisions.Disable(current, request.Reason!, now)), ct);
}

using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using Marten;

namespace Aetherra.Application.Plugins;

/// <summary>Retires a plugin for good: it can never be enabled, upgraded or registered again under its id.</summary>
public static class RetirePluginHandler
{
    public static Task<PluginStatusResult> Handle(
        string pluginId, PluginReason request, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        PluginLifecycle.MoveAsync(pluginId, command, store, clock,
            (_, current, now) => Task.FromResult<object>(PluginDecisions.Retire(current, request.Reason!, now)), ct);
}

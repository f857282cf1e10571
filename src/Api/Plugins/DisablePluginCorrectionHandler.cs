using Aetherra.Application.Common;
using Aetherra.Application.Plugins;
using Marten;

namespace Aetherra.Api.Plugins;

/// <summary>The plugin correction's handler: thin, as the disable endpoint is; the event and the audit are the use case's.</summary>
public static class DisablePluginCorrectionHandler
{
    public static Task<PluginStatusResult> Handle(DisablePluginCorrection message, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        DisablePluginHandler.Handle(message.PluginId, new PluginReason(message.Reason),
            new CommandContext(message.Actor, message.Tenant, Guid.CreateVersion7(), PluginActions.Disable), store, clock, ct);
}

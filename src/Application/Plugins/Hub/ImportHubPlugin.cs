using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Plugins;
using Marten;

namespace Aetherra.Application.Plugins.Hub;

/// <summary>
/// Registers (or upgrades to) a plugin a source offers, exactly as POST /plugins would with the offered manifest and
/// its publisher's signature: the registration verifies it again against the trust store as it is now (a key
/// revoked since the sync refuses it) and the endpoint allowlist. The import is recorded on the source's stream in
/// the same transaction as the plugin's registration.
/// </summary>
public static class ImportHubPluginHandler
{
    public static async Task<RegisterPluginResult> Handle(
        Guid sourceId, string pluginId, CommandContext command, IDocumentStore store, PluginSettings settings, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var stream = await session.Events.FetchForWriting<HubSource>(sourceId, ct);
        var source = stream.Aggregate ?? throw new NotFound("hub source");
        var offer = HubDecisions.Offered(source, pluginId);
        using var manifest = JsonDocument.Parse(offer.CanonicalManifest);
        var request = new RegisterPlugin(manifest.RootElement.Clone(), offer.Signature);
        var validation = await new RegisterPluginValidator().ValidateAsync(request, ct);
        if (!validation.IsValid)
            throw new DomainRuleViolated("the offered manifest is not valid: " + string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)));

        var now = clock.GetUtcNow();
        var decided = await RegisterPluginHandler.DecideAsync(session, request, command, settings, now, ct);
        stream.AppendOne(new HubPluginImported(sourceId, decided.Id, decided.Version, decided.Upgraded, now));
        return await RegisterPluginHandler.CommitAsync(session, decided, command, now, ct);
    }
}

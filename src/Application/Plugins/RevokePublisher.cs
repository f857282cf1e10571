using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using Marten;

namespace Aetherra.Application.Plugins;

public sealed record RevokePublisherResult(
    string KeyId, string Status, int PluginsDisabled, IReadOnlyList<string> Disabled, int ChangesAffected, long Sequence);

/// <summary>
/// Revokes a publisher key and, in the same transaction, disables every plugin of this tenant that it signed and
/// that could still run: nobody can call code whose publisher is no longer vouched for, not even for a moment.
/// The same key may sign stage verdicts of code changes (a runner key): unshipped changes lose those stages too.
/// </summary>
public static class RevokePublisherHandler
{
    public static async Task<RevokePublisherResult> Handle(
        string keyId, string? reason, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var streamId = PluginStreams.PublisherKey(command.Tenant, keyId);
        var key = await session.Events.FetchForWriting<PublisherKey>(streamId, ct);
        if (key.Aggregate is null) throw new NotFound("publisher key");
        var now = clock.GetUtcNow();
        var why = string.IsNullOrWhiteSpace(reason) ? "revoked" : reason;
        key.AppendOne(PluginDecisions.Revoke(key.Aggregate, why, now));

        var signed = await session.Query<Plugin>().Where(p => p.PublisherKeyId == keyId).ToListAsync(ct);
        var disabled = new List<string>();
        foreach (var plugin in signed.Where(PluginDecisions.DisabledByRevocation).OrderBy(p => p.PluginId, StringComparer.Ordinal))
        {
            // Each plugin at the version read: a concurrent lifecycle move fails the whole revocation (409), never half of it.
            var stream = await session.Events.FetchForWriting<Plugin>(plugin.Id, plugin.Version, ct);
            stream.AppendOne(PluginDecisions.Disable(stream.Aggregate!, $"publisher key {keyId} revoked: {why}", now));
            disabled.Add(plugin.PluginId);
        }
        var changes = await ChangeRevocations.RevokeRunnerAsync(session, keyId, why, now, ct);
        try
        {
            var sequence = await session.CommitAsync(command, keyId, Outcome.Done, now, ct);
            return new RevokePublisherResult(keyId, "revoked", disabled.Count, disabled, changes, sequence);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw new VersionConflict(key.Aggregate.Version);
        }
    }
}

namespace Aetherra.Domain.Plugins;

public enum PluginStatus { Registered, Enabled, Disabled, Retired }

/// <summary>The state of one plugin, folded from its stream (also the inline catalog document).</summary>
public sealed record Plugin(
    Guid Id,
    string PluginId,
    PluginManifest Manifest,
    string PublisherKeyId,
    PluginStatus Status,
    string? StatusReason,
    DateTimeOffset RegisteredAt,
    DateTimeOffset UpdatedAt,
    int Version)
{
    public static Plugin Create(PluginRegistered e) =>
        new(e.StreamId, e.Manifest.Id, e.Manifest, e.Manifest.PublisherKeyId, PluginStatus.Registered, null, e.At, e.At, 1);

    public Plugin Apply(PluginUpgraded e) => this with { Manifest = e.Manifest, UpdatedAt = e.At, Version = Version + 1 };
    public Plugin Apply(PluginEnabled e) => Move(PluginStatus.Enabled, e.Reason, e.At);
    public Plugin Apply(PluginDisabled e) => Move(PluginStatus.Disabled, e.Reason, e.At);
    public Plugin Apply(PluginRetired e) => Move(PluginStatus.Retired, e.Reason, e.At);

    public bool Offers(string capability) => Manifest.Capabilities.Any(c => c.Name == capability);

    private Plugin Move(PluginStatus status, string? reason, DateTimeOffset at) =>
        this with { Status = status, StatusReason = reason, UpdatedAt = at, Version = Version + 1 };
}

/// <summary>A publisher key of the trust store, folded from its stream.</summary>
public sealed record PublisherKey(
    Guid Id, string KeyId, string Name, string PublicKey, bool Revoked, string? RevokedReason, DateTimeOffset TrustedAt, int Version)
{
    public static PublisherKey Create(PublisherKeyTrusted e) => new(e.StreamId, e.KeyId, e.Name, e.PublicKey, false, null, e.At, 1);

    public PublisherKey Apply(PublisherKeyRevoked e) => this with { Revoked = true, RevokedReason = e.Reason, Version = Version + 1 };
}

/// <summary>
/// The lifecycle: registered -> enabled <-> disabled, and any state but retired -> retired. Every other move is a
/// domain rule violation (422). Checks that need the outside world (signatures, the allowlist, whether the
/// publisher key is still trusted) are made by the use case, which passes their results in.
/// </summary>
public static class PluginDecisions
{
    public static PluginRegistered Register(
        PluginManifest manifest, Guid streamId, string canonical, string signature, DateTimeOffset now) =>
        new(streamId, manifest, canonical, signature, now);

    public static PluginUpgraded Upgrade(Plugin current, PluginManifest manifest, string canonical, string signature, DateTimeOffset now)
    {
        if (current.Status == PluginStatus.Retired)
            throw new DomainRuleViolated($"plugin '{current.PluginId}' is retired; a retired plugin id is never reused");
        if (manifest.PublisherKeyId != current.PublisherKeyId)
            throw new DomainRuleViolated(
                $"plugin '{current.PluginId}' is published under key {current.PublisherKeyId}; a new version must be signed by the same key");
        if (SemVer.Compare(manifest.Version, current.Manifest.Version) <= 0)
            throw new DomainRuleViolated(
                $"version {manifest.Version} is not newer than the registered version {current.Manifest.Version}");
        return new PluginUpgraded(current.Id, current.Manifest.Version, manifest, canonical, signature, now);
    }

    public static PluginEnabled Enable(Plugin current, bool publisherTrusted, string? reason, DateTimeOffset now)
    {
        if (current.Status is not (PluginStatus.Registered or PluginStatus.Disabled))
            throw Illegal(current, "enabled");
        if (!publisherTrusted)
            throw new DomainRuleViolated($"the publisher key {current.PublisherKeyId} that signed '{current.PluginId}' is no longer trusted");
        return new PluginEnabled(current.Id, current.PluginId, reason, now);
    }

    public static PluginDisabled Disable(Plugin current, string reason, DateTimeOffset now) =>
        current.Status is PluginStatus.Registered or PluginStatus.Enabled
            ? new PluginDisabled(current.Id, current.PluginId, reason, now)
            : throw Illegal(current, "disabled");

    public static PluginRetired Retire(Plugin current, string reason, DateTimeOffset now) =>
        current.Status != PluginStatus.Retired
            ? new PluginRetired(current.Id, current.PluginId, reason, now)
            : throw Illegal(current, "retired");

    /// <summary>Revoking a key disables the plugins it signed that could still run (registered or enabled).</summary>
    public static PublisherKeyRevoked Revoke(PublisherKey key, string reason, DateTimeOffset now) =>
        key.Revoked
            ? throw new DomainRuleViolated($"publisher key {key.KeyId} is already revoked")
            : new PublisherKeyRevoked(key.Id, key.KeyId, reason, now);

    public static bool DisabledByRevocation(Plugin plugin) => plugin.Status is PluginStatus.Registered or PluginStatus.Enabled;

    public static void EnsureInvocable(Plugin current, string capability)
    {
        if (current.Status != PluginStatus.Enabled)
            throw new PluginNotEnabled(current.PluginId, current.Status);
        if (!current.Offers(capability))
            throw new DomainRuleViolated($"plugin '{current.PluginId}' offers no capability '{capability}'");
    }

    private static DomainRuleViolated Illegal(Plugin current, string toBe) =>
        new($"plugin '{current.PluginId}' is {current.Status.ToString().ToLowerInvariant()} and cannot be {toBe}");
}

/// <summary>An invocation of a plugin that is not enabled (answered as 409).</summary>
public sealed class PluginNotEnabled(string pluginId, PluginStatus status)
    : Exception($"plugin '{pluginId}' is {status.ToString().ToLowerInvariant()}, not enabled");

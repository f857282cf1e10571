namespace Aetherra.Domain.Plugins;

/// <summary>One thing a plugin can do, as its manifest names it.</summary>
public readonly record struct PluginCapability(string Name, string? Description);

/// <summary>A plugin's signed manifest, as verified at registration.</summary>
public sealed record PluginManifest(
    string Id,
    string Name,
    string Version,
    string Category,
    string Description,
    string Endpoint,
    string PublisherKeyId,
    IReadOnlyList<PluginCapability> Capabilities);

/// <summary>
/// A plugin entered the catalog. <paramref name="CanonicalManifest"/> is the RFC 8785 text the publisher signed and
/// <paramref name="Signature"/> its Ed25519 signature (base64): anyone can re-verify the event later.
/// </summary>
public sealed record PluginRegistered(
    Guid StreamId, PluginManifest Manifest, string CanonicalManifest, string Signature, DateTimeOffset At);

/// <summary>A newer signed version of a registered plugin replaced its manifest; its status is unchanged.</summary>
public sealed record PluginUpgraded(
    Guid StreamId, string FromVersion, PluginManifest Manifest, string CanonicalManifest, string Signature, DateTimeOffset At);

public sealed record PluginEnabled(Guid StreamId, string PluginId, string? Reason, DateTimeOffset At);

public sealed record PluginDisabled(Guid StreamId, string PluginId, string Reason, DateTimeOffset At);

public sealed record PluginRetired(Guid StreamId, string PluginId, string Reason, DateTimeOffset At);

/// <summary>
/// A call that reached the plugin and got a good answer. Appended on a stream of its own (the invocation id),
/// never on the plugin's stream, which would otherwise turn hot under load.
/// </summary>
public sealed record PluginInvocationCompleted(
    Guid InvocationId, Guid PluginStreamId, string PluginId, string Version, string Capability, string Actor,
    double DurationMs, int Status, DateTimeOffset At);

/// <summary>
/// A call that ended without a good answer. <paramref name="ErrorClass"/> is one of <see cref="InvocationErrors"/>;
/// <paramref name="Status"/> is the plugin's HTTP status when it answered at all.
/// </summary>
public sealed record PluginInvocationFailed(
    Guid InvocationId, Guid PluginStreamId, string PluginId, string Version, string Capability, string Actor,
    double DurationMs, int? Status, string ErrorClass, string Error, DateTimeOffset At);

/// <summary>A publisher's Ed25519 public key (base64 raw) is trusted to sign plugin manifests in this tenant.</summary>
public sealed record PublisherKeyTrusted(Guid StreamId, string KeyId, string Name, string PublicKey, DateTimeOffset At);

/// <summary>The key is no longer trusted; the plugins it signed were disabled in the same transaction.</summary>
public sealed record PublisherKeyRevoked(Guid StreamId, string KeyId, string Reason, DateTimeOffset At);

/// <summary>The error classes of a failed invocation.</summary>
public static class InvocationErrors
{
    public const string Timeout = "timeout";
    public const string CircuitOpen = "circuit-open";
    public const string Unreachable = "unreachable";
    public const string HttpStatus = "http-status";
    public const string Redirect = "redirect-refused";
    public const string TooLarge = "response-too-large";
    public const string BadResponse = "bad-response";
    public const string HostNotAllowed = "host-not-allowed";
    public const string Cancelled = "cancelled";
}

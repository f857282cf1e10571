using System.Text.Json;
using System.Text.Json.Serialization;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Plugins;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Json;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Plugins;

/// <summary>
/// A signed manifest. <see cref="Manifest"/> stays the JSON the client sent: the signature is checked over its
/// RFC 8785 canonical form, so what was signed is exactly what was received. Fields the manifest does not define
/// are refused (400), as are duplicate member names, so every signed byte is also a field Aetherra understands.
/// </summary>
public sealed record RegisterPlugin(JsonElement? Manifest, string? Signature)
{
    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
    };

    private (ManifestInput? Input, string? Problem)? _parsed;

    /// <summary>The manifest read strictly into its fields, or the reason it cannot be (read once, on first use).</summary>
    [JsonIgnore]
    public (ManifestInput? Input, string? Problem) Parsed => _parsed ??= Parse(Manifest);

    private static (ManifestInput?, string?) Parse(JsonElement? manifest)
    {
        if (manifest is not { ValueKind: JsonValueKind.Object } m) return (null, "'Manifest' must be a JSON object.");
        try
        {
            _ = CanonicalJson.CanonicalText(m);
            return (m.Deserialize<ManifestInput>(Strict), null);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return (null, $"'Manifest' is not a valid manifest: {e.Message}");
        }
    }
}

public sealed record ManifestInput(
    string? Id, string? Name, string? Version, string? Category, string? Description, string? Endpoint, string? PublisherKeyId,
    IReadOnlyList<CapabilityInput>? Capabilities)
{
    public PluginManifest ToManifest() => new(Id!, Name!, Version!, Category!, Description!, Endpoint!, PublisherKeyId!,
        Capabilities!.Select(c => new PluginCapability(c.Name!, c.Description)).ToList());
}

public sealed record CapabilityInput(string? Name, string? Description);

public sealed record RegisterPluginResult(string Id, string Status, string Version, bool Upgraded, long Sequence);

public sealed class RegisterPluginValidator : AbstractValidator<RegisterPlugin>
{
    public RegisterPluginValidator()
    {
        RuleFor(x => x.Parsed).Custom((parsed, context) =>
        {
            if (parsed.Problem is { } problem) context.AddFailure("Manifest", problem);
        });
        RuleFor(x => x.Parsed.Input!).SetValidator(new ManifestValidator()).OverridePropertyName("Manifest")
            .When(x => x.Parsed.Input is not null);
        RuleFor(x => x.Signature).NotEmpty().Must(s => Signatures.Decode(s) is not null)
            .WithMessage("'Signature' must be an Ed25519 signature (64 bytes), base64.");
    }
}

public sealed class ManifestValidator : AbstractValidator<ManifestInput>
{
    public ManifestValidator()
    {
        RuleFor(x => x.Id).NotEmpty().MaximumLength(PluginLimits.MaxIdLength).Matches(PluginLimits.IdPattern)
            .WithMessage("'Id' must be a lowercase reverse-DNS name such as 'com.example.weather'.");
        RuleFor(x => x.Name).NotEmpty().MaximumLength(PluginLimits.MaxNameLength);
        RuleFor(x => x.Version).NotEmpty().Must(SemVer.IsValid).WithMessage("'Version' must be a semantic version (2.0.0), such as '1.4.0'.");
        RuleFor(x => x.Category).NotEmpty().Matches(PluginLimits.NamePattern)
            .WithMessage("'Category' must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter.");
        RuleFor(x => x.Description).NotEmpty().MaximumLength(PluginLimits.MaxDescriptionLength);
        RuleFor(x => x.Endpoint).NotEmpty().MaximumLength(PluginLimits.MaxEndpointLength)
            .Must(e => Uri.TryCreate(e, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)
                       && u.UserInfo.Length == 0 && u.Fragment.Length == 0)
            .WithMessage("'Endpoint' must be an absolute http or https URL without credentials or fragment.");
        RuleFor(x => x.PublisherKeyId).NotEmpty().Matches("^[0-9a-f]{32}$")
            .WithMessage("'Publisher Key Id' must be the 32 lowercase hex characters POST /trust/publishers answered.");
        RuleFor(x => x.Capabilities).Cascade(CascadeMode.Stop).NotEmpty().Must(c => c!.Count <= PluginLimits.MaxCapabilities)
            .WithMessage($"A manifest names 1 to {PluginLimits.MaxCapabilities} capabilities.")
            .Must(c => c!.Select(x => x?.Name).Distinct().Count() == c!.Count).WithMessage("Capability names must be unique.");
        RuleForEach(x => x.Capabilities).ChildRules(c =>
        {
            c.RuleFor(x => x.Name).NotEmpty().Matches(PluginLimits.NamePattern)
                .WithMessage("'Name' must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter.");
            c.RuleFor(x => x.Description).MaximumLength(PluginLimits.MaxDescriptionLength);
        });
    }
}

public static class Signatures
{
    public static byte[]? Decode(string? base64)
    {
        if (string.IsNullOrWhiteSpace(base64)) return null;
        var bytes = new byte[Ed25519Signatures.SignatureBytes + 3];
        return Convert.TryFromBase64String(base64.Trim(), bytes, out var n) && n == Ed25519Signatures.SignatureBytes ? bytes[..n] : null;
    }
}

/// <summary>
/// Registers a plugin, or upgrades it when its id is already registered. Refused (422, and audited) unless the
/// manifest is signed by a key this tenant trusts and has not revoked, the signature verifies over the canonical
/// manifest (so a field changed after signing fails), and the endpoint's host is on the allowlist.
/// </summary>
public static class RegisterPluginHandler
{
    public static async Task<RegisterPluginResult> Handle(
        RegisterPlugin request, CommandContext command, IDocumentStore store, PluginSettings settings, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var now = clock.GetUtcNow();
        var decided = await DecideAsync(session, request, command, settings, now, ct);
        return await CommitAsync(session, decided, command, now, ct);
    }

    /// <summary>
    /// Verifies the manifest against the tenant's trust store and the allowlist and appends its registration or
    /// upgrade to the session, uncommitted: a caller that registers on behalf of something else (a hub import) adds
    /// its own events and commits them together.
    /// </summary>
    public static async Task<RegisterPluginResult> DecideAsync(
        IDocumentSession session, RegisterPlugin request, CommandContext command, PluginSettings settings, DateTimeOffset now, CancellationToken ct)
    {
        var manifest = request.Parsed.Input!.ToManifest();
        var canonical = CanonicalJson.CanonicalText(request.Manifest!.Value);
        var signature = Signatures.Decode(request.Signature)!;

        var key = await session.LoadAsync<PublisherKey>(PluginStreams.PublisherKey(command.Tenant, manifest.PublisherKeyId), ct);
        if (Untrusted(key, manifest.PublisherKeyId, canonical, signature) is { } untrusted) throw new DomainRuleViolated(untrusted);
        if (settings.Hosts.Refusal(manifest.Endpoint) is { } refusal) throw new DomainRuleViolated(refusal);

        var streamId = PluginStreams.Plugin(command.Tenant, manifest.Id);
        try
        {
            var stream = await session.Events.FetchForWriting<Plugin>(streamId, ct);
            var sig = Convert.ToBase64String(signature);
            if (stream.Aggregate is { } current)
            {
                stream.AppendOne(PluginDecisions.Upgrade(current, manifest, canonical, sig, now));
                return new RegisterPluginResult(manifest.Id, Status(current.Status), manifest.Version, true, 0);
            }
            session.Events.StartStream<Plugin>(streamId, PluginDecisions.Register(manifest, streamId, canonical, sig, now));
            return new RegisterPluginResult(manifest.Id, Status(PluginStatus.Registered), manifest.Version, false, 0);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw Changed(manifest.Id);
        }
    }

    /// <summary>
    /// Why a manifest signed with this publisher key is not to be trusted in the tenant whose trust store gave the key
    /// (null when it is): the key unknown or revoked there, or the signature not over the manifest's canonical text.
    /// </summary>
    public static string? Untrusted(PublisherKey? key, string keyId, string canonicalManifest, byte[] signature) =>
        key is null ? $"publisher key {keyId} is not trusted in this tenant"
        : key.Revoked ? $"publisher key {key.KeyId} is revoked"
        : !Ed25519Signatures.Verify(Convert.FromBase64String(key.PublicKey), System.Text.Encoding.UTF8.GetBytes(canonicalManifest), signature)
            ? $"the signature does not verify with publisher key {key.KeyId} over the manifest's RFC 8785 canonical JSON (changed after signing, or signed by another key)"
            : null;

    /// <summary>Commits what <see cref="DecideAsync"/> appended (and anything added since), audited as the command.</summary>
    public static async Task<RegisterPluginResult> CommitAsync(
        IDocumentSession session, RegisterPluginResult decided, CommandContext command, DateTimeOffset now, CancellationToken ct)
    {
        try
        {
            var sequence = await session.CommitAsync(command, decided.Id, decided.Upgraded ? Outcome.Done : Outcome.Created, now, ct);
            return decided with { Sequence = sequence };
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw Changed(decided.Id);
        }
    }

    private static DomainRuleViolated Changed(string pluginId) => new($"plugin '{pluginId}' changed while it was being registered; retry");

    public static string Status(PluginStatus status) => status.ToString().ToLowerInvariant();
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aetherra.Domain.Plugins;
using Aetherra.Infrastructure.AuditLog;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.Json;
using Marten;

namespace Aetherra.Application.Plugins.Hub;

/// <summary>
/// The signed catalogue one instance publishes and another syncs. The document is
/// <c>{"catalogue":C,"signature":S}</c> where C is an RFC 8785 canonical JSON object naming its own type
/// (<see cref="Type"/>), the publishing installation's audit origin, the tenant, the time it was issued and every
/// plugin with its manifest and its publisher's signature, and S is the installation audit key's Ed25519 signature
/// (base64) over exactly C's bytes (AuditSigner.SignStatement, which no checkpoint note can be mistaken for).
/// A reader refuses C unless its bytes are already canonical: re-canonicalising would forgive a change in
/// spacing or escapes, and "one byte changed" must mean "refused".
/// </summary>
public static class HubCatalogue
{
    public const string Type = "aetherra.plugin-catalogue.v1";

    /// <summary>The largest catalogue a sync reads (64 plugins of the largest manifests fit several times).</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>The tenant's registered and enabled plugins (not disabled or retired), each with the manifest as its publisher signed it.</summary>
    public static async Task<byte[]> PublishAsync(string tenant, IDocumentStore store, AuditSigner signer, DateTimeOffset now, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var plugins = await session.Query<Plugin>()
            .Where(p => p.Status == PluginStatus.Registered || p.Status == PluginStatus.Enabled)
            .OrderBy(p => p.PluginId).ToListAsync(ct);
        var entries = new JsonArray();
        foreach (var plugin in plugins)
        {
            // The catalog document keeps the manifest's fields, not the signed text: the latest registration or
            // upgrade event of the plugin's stream holds that.
            var events = await session.Events.FetchStreamAsync(plugin.Id, token: ct);
            var (canonical, signature) = events.Select(e => e.Data).Reverse().Select(d => d switch
            {
                PluginUpgraded u => (u.CanonicalManifest, u.Signature),
                PluginRegistered r => (r.CanonicalManifest, r.Signature),
                _ => default,
            }).First(x => x.CanonicalManifest is not null);
            entries.Add(new JsonObject { ["manifest"] = JsonNode.Parse(canonical), ["signature"] = signature });
        }
        var catalogue = new JsonObject
        {
            ["type"] = Type,
            ["origin"] = signer.Origin,
            ["tenant"] = tenant,
            ["issuedAt"] = now.ToString("O"),
            ["plugins"] = entries,
        };
        var text = CanonicalJson.CanonicalText(catalogue.ToJsonString());
        var bytes = Encoding.UTF8.GetBytes(text);
        var signed = Convert.ToBase64String(signer.SignStatement(bytes));
        return Encoding.UTF8.GetBytes($"{{\"catalogue\":{text},\"signature\":\"{signed}\"}}");
    }

    /// <summary>
    /// Checks a fetched catalogue: its signature by the source's key over its exact bytes, its type, then every
    /// manifest against this tenant's trust store (a key trusted and not revoked, a signature that verifies over the
    /// manifest's canonical JSON, fields a manifest defines). A failure of the whole refuses it; of one manifest, that one.
    /// </summary>
    public static async Task<HubCatalogueCheck> CheckAsync(
        byte[] body, HubSource source, IQuerySession trustStore, CancellationToken ct)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(body));
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            return HubCatalogueCheck.Refusing(Clean($"the catalogue is not JSON ({e.Message})"), sha256);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("catalogue", out var catalogue)
                || catalogue.ValueKind != JsonValueKind.Object || !root.TryGetProperty("signature", out var sig) || sig.ValueKind != JsonValueKind.String)
                return HubCatalogueCheck.Refusing("the document is not a signed catalogue: an object with 'catalogue' (an object) and 'signature' (base64) is expected", sha256);
            if (Signatures.Decode(sig.GetString()) is not { } signature)
                return HubCatalogueCheck.Refusing("the catalogue's signature is not an Ed25519 signature (64 bytes, base64)", sha256);
            var raw = catalogue.GetRawText();
            string canonical;
            try
            {
                canonical = CanonicalJson.CanonicalText(catalogue);
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                return HubCatalogueCheck.Refusing(Clean($"the catalogue cannot be put in canonical form ({e.Message})"), sha256);
            }
            var signed = Encoding.UTF8.GetBytes(raw);
            if (!Ed25519Signatures.Verify(Convert.FromBase64String(source.PublicKey), signed, signature))
                return HubCatalogueCheck.Refusing(raw == canonical
                    ? $"the catalogue's signature does not verify with the source's public key {source.PublicKeyId} (changed after signing, or signed by another key)"
                    : $"the catalogue is not in its RFC 8785 canonical form, so it is not the document that was signed, and its signature does not verify with the source's public key {source.PublicKeyId}", sha256);
            if (raw != canonical)
                return HubCatalogueCheck.Refusing("the catalogue verifies but is not in its RFC 8785 canonical form; a publisher signs and serves canonical bytes", sha256);
            return await EntriesAsync(catalogue, sha256, trustStore, ct);
        }
    }

    private static async Task<HubCatalogueCheck> EntriesAsync(JsonElement catalogue, string sha256, IQuerySession trustStore, CancellationToken ct)
    {
        string? Text(string name) => catalogue.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (Text("type") != Type) return HubCatalogueCheck.Refusing(Clean($"the signed document is not a plugin catalogue (type '{Text("type")}', expected '{Type}')"), sha256);
        if (Text("origin") is not { Length: > 0 and <= 256 } origin || Text("tenant") is not { Length: > 0 and <= 256 } tenant
            || !StorableText.IsStorable(origin) || !StorableText.IsStorable(tenant)
            || !DateTimeOffset.TryParse(Text("issuedAt"), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var issuedAt)
            || !catalogue.TryGetProperty("plugins", out var plugins) || plugins.ValueKind != JsonValueKind.Array)
            return HubCatalogueCheck.Refusing("the catalogue lacks 'origin' or 'tenant' (text of 1 to 256 characters), 'issuedAt' (ISO 8601) or 'plugins' (an array)", sha256);

        var offers = new List<HubOffer>();
        var refused = new List<HubRefusedManifest>();
        var validator = new RegisterPluginValidator();
        foreach (var entry in plugins.EnumerateArray())
        {
            var manifest = entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("manifest", out var m) ? m : (JsonElement?)null;
            var sigText = entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("signature", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            var request = new RegisterPlugin(manifest, sigText);
            // What the refusal names comes from the remote document: kept only when it has the shape of an id and a version.
            var pluginId = request.Parsed.Input?.Id is { Length: <= PluginLimits.MaxIdLength } id
                           && System.Text.RegularExpressions.Regex.IsMatch(id, PluginLimits.IdPattern) ? id : null;
            var version = request.Parsed.Input?.Version is { Length: <= 256 } v && SemVer.IsValid(v) ? v : null;
            if (manifest is { } mm && !Storable(mm))
            {
                refused.Add(new(pluginId, version, "the manifest holds text no store takes (NUL or an unpaired surrogate)"));
                continue;
            }
            var validation = await validator.ValidateAsync(request, ct);
            if (!validation.IsValid)
            {
                refused.Add(new(pluginId, version, Clean("the manifest is not valid: " + string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)))));
                continue;
            }
            var input = request.Parsed.Input!;
            var key = await trustStore.LoadAsync<PublisherKey>(PluginStreams.PublisherKey(trustStore.TenantId, input.PublisherKeyId!), ct);
            var canonicalManifest = CanonicalJson.CanonicalText(manifest!.Value);
            var reason = RegisterPluginHandler.Untrusted(key, input.PublisherKeyId!, canonicalManifest, Signatures.Decode(sigText)!);
            if (reason is not null)
            {
                refused.Add(new(pluginId, version, reason));
                continue;
            }
            offers.Add(new HubOffer(input.Id!, input.Version!, input.Name!, input.Category!, input.Description!, input.PublisherKeyId!,
                canonicalManifest, Convert.ToBase64String(Signatures.Decode(sigText)!)));
        }
        return new HubCatalogueCheck(null, sha256, origin, tenant, issuedAt, offers, refused);
    }

    /// <summary>Whether every string (and member name) of the element is text the store takes.</summary>
    private static bool Storable(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => StorableText.IsStorable(element.GetString()),
        JsonValueKind.Object => element.EnumerateObject().All(p => StorableText.IsStorable(p.Name) && Storable(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().All(Storable),
        _ => true,
    };

    /// <summary>A reason that may quote the remote document: only storable characters, and bounded.</summary>
    private static string Clean(string reason)
    {
        var kept = new string(reason.Where(c => c != '\0' && !char.IsSurrogate(c)).ToArray());
        return kept.Length <= 1_000 ? kept : kept[..1_000] + "...";
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aetherra.Domain.Changes;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Json;

namespace Aetherra.Application.Changes;

/// <summary>
/// What runners and the installation sign, in one place for the server, the offline verifier (the CLI) and the
/// tests: RFC 8785 canonical JSON, Ed25519 through NSec.
/// </summary>
public static class ChangeSignatures
{
    public const string ManifestType = "aetherra.ship-manifest.v1";

    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>The bytes a stage runner signs: canonical JSON of {changeId, patchSha256, stage, passed, evidenceSha256}.</summary>
    public static byte[] StagePayload(Guid changeId, string patchSha256, string stage, bool passed, string evidenceSha256) =>
        Encoding.UTF8.GetBytes(CanonicalJson.CanonicalText(JsonSerializer.SerializeToElement(new JsonObject
        {
            ["changeId"] = changeId.ToString(),
            ["patchSha256"] = patchSha256,
            ["stage"] = stage,
            ["passed"] = passed,
            ["evidenceSha256"] = evidenceSha256,
        })));

    public static bool VerifyStage(byte[] runnerPublicKey, Guid changeId, string patchSha256, string stage, bool passed, string evidenceSha256,
        string signatureBase64) =>
        TryBase64(signatureBase64) is { } signature
        && Ed25519Signatures.Verify(runnerPublicKey, StagePayload(changeId, patchSha256, stage, passed, evidenceSha256), signature);

    public static byte[]? TryBase64(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var bytes = new byte[text.Length];
        return Convert.TryFromBase64String(text.Trim(), bytes, out var n) ? bytes[..n] : null;
    }

    /// <summary>
    /// Everything wrong with a ship manifest body {manifest, signature}, checked offline: the installation's signature
    /// over the manifest's canonical JSON (with <paramref name="trustedPublicKey"/>, or the key the manifest names when
    /// none is given), its type, every required stage present and passed, and each stage's runner signature with the
    /// runner key it names. Empty when it verifies. <paramref name="patch"/>, when given, must hash to patchSha256.
    /// </summary>
    public static IReadOnlyList<string> VerifyManifest(JsonElement body, byte[]? trustedPublicKey, string? patch = null)
    {
        var problems = new List<string>();
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("manifest", out var manifest) || manifest.ValueKind != JsonValueKind.Object
            || !body.TryGetProperty("signature", out var sig) || sig.ValueKind != JsonValueKind.String)
            return ["the file must hold {manifest, signature}"];

        var signerKey = trustedPublicKey ?? TryBase64(Str(manifest, "signer", "publicKey"));
        byte[] canonical;
        try
        {
            canonical = CanonicalJson.Canonicalize(manifest);
        }
        catch (FormatException e)
        {
            return [$"the manifest is not canonicalisable JSON: {e.Message}"];
        }
        if (signerKey is null) problems.Add("no signer public key (give --public-key, from GET /audit/public-key)");
        else if (TryBase64(sig.GetString()) is not { } signature || !Ed25519Signatures.Verify(signerKey, canonical, signature))
            problems.Add("the manifest's signature does not verify with the installation's key");
        else if (trustedPublicKey is not null && Str(manifest, "signer", "publicKey") is { } named
                 && TryBase64(named) is { } namedKey && !namedKey.AsSpan().SequenceEqual(trustedPublicKey))
            problems.Add("the manifest names another signer key than the one given");

        if (Str(manifest, "type") != ManifestType) problems.Add($"the manifest's type is not {ManifestType}");
        var patchSha = Str(manifest, "patchSha256");
        if (patch is not null && Sha256Hex(patch) != patchSha) problems.Add("the patch file does not hash to the manifest's patchSha256");
        if (!Guid.TryParse(Str(manifest, "changeId"), out var changeId)) problems.Add("the manifest has no changeId");

        var stages = manifest.TryGetProperty("stages", out var s) && s.ValueKind == JsonValueKind.Array ? s.EnumerateArray().ToList() : [];
        foreach (var required in ChangeRules.RequiredStages)
        {
            var stage = stages.FirstOrDefault(x => Str(x, "stage") == required);
            if (stage.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"stage {required} is missing");
                continue;
            }
            var passed = stage.TryGetProperty("passed", out var p) && p.ValueKind == JsonValueKind.True;
            if (!passed) problems.Add($"stage {required} did not pass");
            var runnerKey = TryBase64(Str(stage, "runnerPublicKey"));
            if (runnerKey is null || Ed25519Signatures.KeyId(runnerKey) != Str(stage, "runnerKeyId"))
                problems.Add($"stage {required}: the runner key does not match its id");
            else if (!VerifyStage(runnerKey, changeId, patchSha ?? "", required, passed, Str(stage, "evidenceSha256") ?? "", Str(stage, "signature") ?? ""))
                problems.Add($"stage {required}: the runner's signature does not verify");
        }
        return problems;
    }

    private static string? Str(JsonElement e, params string[] path)
    {
        foreach (var name in path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out e)) return null;
        }
        return e.ValueKind == JsonValueKind.String ? e.GetString() : null;
    }
}

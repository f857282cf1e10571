using System.Text;
using System.Text.Json;
using Aetherra.Application.Changes;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Api.Changes;

/// <summary>
/// <c>aetherra changes verify</c>: checks a ship manifest offline, with no database, server or configuration
/// (Program.cs runs it before the host is built): the installation's signature over the manifest, every required
/// stage passed, and each runner's signature over its verdict. <c>sign-stage</c> is the stage runner's side: it
/// signs a verdict with a key made by <c>aetherra plugins keygen</c>.
/// </summary>
public static class ChangesCommand
{
    private const string Usage = """
        usage:
          aetherra changes verify [--public-key BASE64] [--patch FILE] MANIFEST.json
              MANIFEST.json: the body POST /changes/{id}/ship answered ({manifest, signature}).
              --public-key: the installation's key (GET /audit/public-key); without it the key the manifest
              names is used, which proves integrity but not origin.
              --patch: the patch file; its SHA-256 must be the manifest's patchSha256.
              Exit 0 when everything verifies, 1 when something does not, 2 on a usage error.
          aetherra changes sign-stage --key FILE --change ID --patch-sha256 HEX --stage test|security|review
                                      --passed true|false --evidence FILE
              signs a stage verdict with a runner key (from `aetherra plugins keygen`, trusted with
              POST /trust/publishers); prints the POST /changes/{id}/stages body
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args is ["sign-stage", .. var signArgs]) return await SignStageAsync(signArgs, output, error);
        if (args is not ["verify", .. var rest]) return Fail(error, Usage);
        string? publicKey = null, patchFile = null, file = null;
        for (var i = 0; i < rest.Length; i++)
        {
            switch (rest[i])
            {
                case "--public-key" when i + 1 < rest.Length: publicKey = rest[++i]; break;
                case "--patch" when i + 1 < rest.Length: patchFile = rest[++i]; break;
                case var a when !a.StartsWith("--", StringComparison.Ordinal) && file is null: file = a; break;
                default: return Fail(error, Usage);
            }
        }
        if (file is null) return Fail(error, Usage);
        try
        {
            byte[]? key = null;
            if (publicKey is not null && (ChangeSignatures.TryBase64(publicKey) is not { Length: Ed25519Signatures.PublicKeyBytes } k
                                          || !Ed25519Signatures.IsPublicKey(k)))
                return Fail(error, "error: --public-key must be a raw Ed25519 public key (32 bytes), base64");
            else if (publicKey is not null) key = ChangeSignatures.TryBase64(publicKey);
            using var body = JsonDocument.Parse(await File.ReadAllTextAsync(file, Encoding.UTF8));
            var patch = patchFile is null ? null : await File.ReadAllTextAsync(patchFile, Encoding.UTF8);
            var problems = ChangeSignatures.VerifyManifest(body.RootElement, key, patch);
            if (problems.Count == 0)
            {
                var manifest = body.RootElement.GetProperty("manifest");
                await output.WriteLineAsync($"OK: change {manifest.GetProperty("changeId").GetString()} ({manifest.GetProperty("title").GetString()}) " +
                    $"shipped {manifest.GetProperty("shippedAt").GetString()}; stages test, security, review passed and signed" +
                    (key is null ? "; signer key taken from the manifest itself (pass --public-key to check its origin)" : ""));
                return 0;
            }
            foreach (var p in problems) await output.WriteLineAsync($"FAILED: {p}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or ArgumentException
                                       or InvalidOperationException or KeyNotFoundException)
        {
            return Fail(error, $"error: {e.Message}");
        }
    }

    private static async Task<int> SignStageAsync(string[] args, TextWriter output, TextWriter error)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length && args[i].StartsWith("--", StringComparison.Ordinal); i += 2) options[args[i][2..]] = args[i + 1];
        string[] needed = ["key", "change", "patch-sha256", "stage", "passed", "evidence"];
        if (options.Count * 2 != args.Length || needed.Any(n => !options.ContainsKey(n)) || !Guid.TryParse(options["change"], out var change)
            || !bool.TryParse(options["passed"], out var passed))
            return Fail(error, Usage);
        try
        {
            var privateKey = Convert.FromBase64String((await File.ReadAllTextAsync(options["key"])).Trim());
            var evidence = await File.ReadAllTextAsync(options["evidence"], Encoding.UTF8);
            var payload = ChangeSignatures.StagePayload(change, options["patch-sha256"], options["stage"], passed, ChangeSignatures.Sha256Hex(evidence));
            var body = new
            {
                stage = options["stage"], passed, evidence, runnerKeyId = Ed25519Signatures.KeyId(Ed25519Signatures.PublicKeyOf(privateKey)),
                signature = Convert.ToBase64String(Ed25519Signatures.Sign(privateKey, payload)),
            };
            await output.WriteLineAsync(JsonSerializer.Serialize(body, new JsonSerializerOptions(JsonSerializerDefaults.Web)
            {
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            }));
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException
                                       or System.Security.Cryptography.CryptographicException)
        {
            return Fail(error, $"error: {e.Message}");
        }
    }

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine(message);
        return 2;
    }
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aetherra.Api.Hosting;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Json;

namespace Aetherra.Api.Plugins;

/// <summary>
/// <c>aetherra plugins keygen|sign|verify</c>: the publisher's side of the trust model. It runs before the host is
/// built (Program.cs), so it needs no database, master key or configuration: a publisher has none of them.
/// </summary>
public static class PluginsCommand
{
    private const string Usage = """
        usage:
          aetherra plugins keygen --out FILE
              new Ed25519 key pair: the private key (base64 seed) goes to FILE (mode 600, never overwritten);
              prints {publicKey, keyId} for POST /trust/publishers
          aetherra plugins sign --key FILE MANIFEST.json [--out BODY.json]
              signs the manifest's RFC 8785 canonical JSON; writes the POST /plugins body {manifest, signature}
          aetherra plugins verify --public-key BASE64 BODY.json
              checks a body's signature the way the server does; exit 0 when it verifies
        """;

    // Relaxed escaping: the body is for files and curl, not for HTML ('+' in base64 stays '+').
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            var (verb, options, files) = CommandArgs.Parse(args);
            return verb switch
            {
                "keygen" when options.TryGetValue("out", out var file) && files.Count == 0 => await KeygenAsync(file),
                "sign" when options.TryGetValue("key", out var key) && files.Count == 1 => await SignAsync(key, files[0], options.GetValueOrDefault("out")),
                "verify" when options.TryGetValue("public-key", out var pub) && files.Count == 1 => await VerifyAsync(pub, files[0]),
                _ => Fail(Usage),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or ArgumentException)
        {
            return Fail($"error: {e.Message}");
        }
    }

    private static async Task<int> KeygenAsync(string file)
    {
        var (privateKey, publicKey) = Ed25519Signatures.Generate();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var stream = new FileStream(file, options))
        await using (var writer = new StreamWriter(stream))
            await writer.WriteLineAsync(Convert.ToBase64String(privateKey));
        Console.WriteLine(JsonSerializer.Serialize(new { publicKey = Convert.ToBase64String(publicKey), keyId = Ed25519Signatures.KeyId(publicKey) }, Indented));
        Console.Error.WriteLine($"private key written to {file}: keep it secret; register the public key with POST /trust/publishers");
        return 0;
    }

    private static async Task<int> SignAsync(string keyFile, string manifestFile, string? output)
    {
        var privateKey = Convert.FromBase64String((await File.ReadAllTextAsync(keyFile)).Trim());
        var publicKey = Ed25519Signatures.PublicKeyOf(privateKey);
        var node = JsonNode.Parse(await File.ReadAllTextAsync(manifestFile)) as JsonObject ?? throw new FormatException("the manifest file must hold a JSON object");
        // A file may hold the manifest itself or a whole request body: the manifest is signed either way.
        var manifest = node["manifest"] as JsonObject ?? node;
        var keyId = Ed25519Signatures.KeyId(publicKey);
        if (manifest["publisherKeyId"]?.GetValue<string>() is { } named && named != keyId)
            return Fail($"error: the manifest names publisherKeyId {named}, but this key's id is {keyId}");
        if (manifest["publisherKeyId"] is null) return Fail($"error: the manifest has no publisherKeyId; this key's id is {keyId}");
        var canonical = CanonicalJson.CanonicalText(JsonSerializer.SerializeToElement(manifest));
        var signature = Ed25519Signatures.Sign(privateKey, Encoding.UTF8.GetBytes(canonical));
        var body = new JsonObject { ["manifest"] = manifest.DeepClone(), ["signature"] = Convert.ToBase64String(signature) };
        var text = body.ToJsonString(Indented) + "\n";
        if (output is null) Console.Write(text);
        else await File.WriteAllTextAsync(output, text);
        Console.Error.WriteLine($"signed {canonical.Length} bytes of canonical JSON with key {keyId}");
        return 0;
    }

    private static async Task<int> VerifyAsync(string publicKeyBase64, string bodyFile)
    {
        var publicKey = Convert.FromBase64String(publicKeyBase64.Trim());
        using var body = JsonDocument.Parse(await File.ReadAllTextAsync(bodyFile));
        if (!body.RootElement.TryGetProperty("manifest", out var manifest) || !body.RootElement.TryGetProperty("signature", out var sig))
            return Fail("error: the file must hold a body {manifest, signature}");
        var canonical = CanonicalJson.Canonicalize(manifest);
        var keyId = Ed25519Signatures.KeyId(publicKey);
        if (Ed25519Signatures.Verify(publicKey, canonical, Convert.FromBase64String(sig.GetString() ?? "")))
        {
            Console.WriteLine($"OK: the signature verifies with key {keyId}");
            return 0;
        }
        Console.WriteLine($"FAILED: the signature does not verify with key {keyId}");
        return 1;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}

using System.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Api.Release;

/// <summary>
/// <c>aetherra release keygen|sign|verify</c>: the signed release manifest ops/release writes, checked offline. It
/// runs before the host is built (Program.cs): verifying a download needs no database, key or configuration.
/// The signature is Ed25519 over the manifest file's exact bytes (MANIFEST.sig, base64), so any change to any
/// byte of the manifest fails it; the manifest names every artifact and the SBOM with its SHA-256 and size.
/// </summary>
public static class ReleaseCommand
{
    private const string Usage = """
        usage:
          aetherra release keygen --out FILE
              new Ed25519 release key: the private key (base64 seed) goes to FILE (mode 600, never overwritten);
              prints the public key (base64) to publish beside the releases
          aetherra release public-key --key FILE
              prints the public key (base64) of a release private key
          aetherra release sign --key FILE MANIFEST
              writes MANIFEST.sig: the Ed25519 signature (base64) over MANIFEST's exact bytes
          aetherra release verify MANIFEST [--public-key BASE64] [--manifest-only]
              checks MANIFEST.sig against the release public key (--public-key, else AETHERRA_RELEASE_PUBLIC_KEY,
              else the key the manifest names: then only self-consistency is proven), then the SHA-256 and size
              of every artifact and of the SBOM, found beside MANIFEST; exit 0 when all hold, 1 otherwise
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            var (verb, options, files) = Parse(args);
            switch (verb)
            {
                case "keygen" when options.TryGetValue("out", out var file) && files.Count == 0:
                    return await KeygenAsync(file!);
                case "public-key" when options.TryGetValue("key", out var privateFile) && files.Count == 0:
                    Console.WriteLine(Convert.ToBase64String(Ed25519Signatures.PublicKeyOf(Convert.FromBase64String((await File.ReadAllTextAsync(privateFile!)).Trim()))));
                    return 0;
                case "sign" when options.TryGetValue("key", out var key) && files.Count == 1:
                    var signature = Sign(await File.ReadAllBytesAsync(files[0]), Convert.FromBase64String((await File.ReadAllTextAsync(key!)).Trim()));
                    await File.WriteAllTextAsync(files[0] + ".sig", signature + "\n");
                    Console.WriteLine($"signed {files[0]} -> {files[0]}.sig");
                    return 0;
                case "verify" when files.Count == 1:
                    var publicKey = options.GetValueOrDefault("public-key") ?? Environment.GetEnvironmentVariable("AETHERRA_RELEASE_PUBLIC_KEY");
                    var problems = await VerifyAsync(files[0], publicKey, options.ContainsKey("manifest-only"));
                    foreach (var p in problems) Console.Error.WriteLine($"invalid: {p}");
                    if (problems.Count > 0) return 1;
                    Console.WriteLine(publicKey is null
                        ? "valid (signed by the key the manifest names: pass --public-key to check it is the release key)"
                        : "valid");
                    return 0;
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (Exception e) when (e is IOException or FormatException or JsonException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"invalid: {e.Message}");
            return 1;
        }
    }

    public static string Sign(byte[] manifest, byte[] privateKey) => Convert.ToBase64String(Ed25519Signatures.Sign(privateKey, manifest));

    /// <summary>
    /// The signature in a .sig file as <c>release sign</c> writes it: exactly the 88 base64 characters of a 64-byte
    /// Ed25519 signature, then at most one "\n". Nothing else is tolerated (no other whitespace, which base64 decoding
    /// would skip), so any one-byte change to the file is refused, not only a change that alters the signature.
    /// </summary>
    internal static byte[]? SignatureOf(byte[] file)
    {
        var length = file.Length > 0 && file[^1] == (byte)'\n' ? file.Length - 1 : file.Length;
        if (length != 88) return null;
        var signature = new byte[64];
        if (System.Buffers.Text.Base64.DecodeFromUtf8(file.AsSpan(0, length), signature, out _, out var written)
            != System.Buffers.OperationStatus.Done || written != 64) return null;
        // The last character before the padding has bits a decoder ignores: only the canonical encoding is accepted.
        return Encoding.ASCII.GetBytes(Convert.ToBase64String(signature)).AsSpan().SequenceEqual(file.AsSpan(0, length))
            ? signature
            : null;
    }

    /// <summary>
    /// Every reason the release at <paramref name="manifestFile"/> does not verify (none: it does). The signature is
    /// checked before anything the manifest says is believed.
    /// </summary>
    public static async Task<IReadOnlyList<string>> VerifyAsync(string manifestFile, string? publicKeyBase64, bool manifestOnly)
    {
        var bytes = await File.ReadAllBytesAsync(manifestFile);
        var signatureFile = manifestFile + ".sig";
        if (!File.Exists(signatureFile)) return [$"{signatureFile} is missing"];
        var signature = SignatureOf(await File.ReadAllBytesAsync(signatureFile));
        if (signature is null) return [$"{signatureFile} is not one base64 Ed25519 signature (88 characters and at most one newline)"];
        JsonElement manifest;
        try
        {
            manifest = JsonDocument.Parse(bytes).RootElement.Clone();
        }
        catch (JsonException e)
        {
            return [$"the manifest is not JSON ({e.Message})"];
        }
        byte[] publicKey;
        try
        {
            publicKey = Convert.FromBase64String(publicKeyBase64
                ?? (manifest.ValueKind == JsonValueKind.Object && manifest.TryGetProperty("publicKey", out var named) && named.ValueKind == JsonValueKind.String
                    ? named.GetString()! : ""));
        }
        catch (FormatException)
        {
            return ["the public key is not base64"];
        }
        if (!Ed25519Signatures.IsPublicKey(publicKey)) return ["no usable Ed25519 public key"];
        if (!Ed25519Signatures.Verify(publicKey, bytes, signature)) return ["the signature does not match the manifest and key (changed, or signed by another key)"];
        if (manifestOnly) return [];

        var problems = new List<string>();
        var dir = Path.GetDirectoryName(Path.GetFullPath(manifestFile))!;
        var entries = new List<JsonElement>();
        if (manifest.TryGetProperty("artifacts", out var artifacts) && artifacts.ValueKind == JsonValueKind.Array) entries.AddRange(artifacts.EnumerateArray());
        if (manifest.TryGetProperty("sbom", out var sbom) && sbom.ValueKind == JsonValueKind.Object) entries.Add(sbom);
        if (entries.Count == 0) problems.Add("the manifest names no artifact");
        foreach (var entry in entries)
        {
            var name = entry.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
            var path = Path.GetFullPath(Path.Combine(dir, name));
            if (name.Length == 0 || !path.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                problems.Add($"artifact name '{name}' is not a file beside the manifest");
                continue;
            }
            if (!File.Exists(path))
            {
                problems.Add($"{name} is missing");
                continue;
            }
            await using var stream = File.OpenRead(path);
            var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
            if (hash != entry.GetProperty("sha256").GetString()) problems.Add($"{name}: SHA-256 {hash} is not the manifest's");
            if (entry.TryGetProperty("bytes", out var size) && size.GetInt64() != new FileInfo(path).Length) problems.Add($"{name}: size differs from the manifest's");
        }
        return problems;
    }

    private static async Task<int> KeygenAsync(string file)
    {
        var (privateKey, publicKey) = Ed25519Signatures.Generate();
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using var stream = new FileStream(file, options);
            await using var writer = new StreamWriter(stream);
            await writer.WriteLineAsync(Convert.ToBase64String(privateKey));
        }
        catch (IOException) when (File.Exists(file))
        {
            Console.Error.WriteLine($"{file} exists: a release key is never overwritten");
            return 1;
        }
        Console.WriteLine(Convert.ToBase64String(publicKey));
        return 0;
    }

    private static (string Verb, Dictionary<string, string?> Options, List<string> Files) Parse(string[] args)
    {
        var options = new Dictionary<string, string?>();
        var files = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--manifest-only") options["manifest-only"] = null;
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length) options[args[i][2..]] = args[++i];
            else files.Add(args[i]);
        }
        return (args.Length > 0 ? args[0] : "", options, files);
    }
}

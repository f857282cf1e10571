using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aetherra.Api.Hosting;
using Aetherra.Domain.Scripts;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Api.Scripts;

/// <summary>
/// <c>aetherra scripts check|sign|verify</c>: the script publisher's side, like <c>aetherra plugins</c>. It runs before
/// the host is built, so it needs no database or configuration. Keys are the plugin publisher keys
/// (<c>aetherra plugins keygen</c>): one trust store serves both.
/// </summary>
public static class ScriptsCommand
{
    private const string Usage = """
        usage:
          aetherra scripts check FILE.aether [--scopes SCOPE,SCOPE]
              parses and checks the script as the server does; without --scopes every scope is assumed held;
              prints each problem as LINE:COLUMN: MESSAGE; exit 0 when there is none
          aetherra scripts sign --key FILE --name NAME FILE.aether [--out BODY.json]
              checks, then signs the file's exact UTF-8 bytes; writes the POST /scripts body
              {name, source, publisherKeyId, signature}
          aetherra scripts verify --public-key BASE64 BODY.json
              checks a body's signature over its source the way the server does; exit 0 when it verifies
        """;

    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var (verb, options, files) = CommandArgs.Parse(args);
            return verb switch
            {
                "check" when files.Count == 1 => await CheckAsync(files[0], options.GetValueOrDefault("scopes"), stdout),
                "sign" when options.TryGetValue("key", out var key) && options.TryGetValue("name", out var name) && files.Count == 1 =>
                    await SignAsync(key, name, files[0], options.GetValueOrDefault("out"), stdout, stderr),
                "verify" when options.TryGetValue("public-key", out var pub) && files.Count == 1 => await VerifyAsync(pub, files[0], stdout),
                _ => Fail(stderr, Usage),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or ArgumentException)
        {
            return Fail(stderr, $"error: {e.Message}");
        }
    }

    private static IReadOnlyList<ScriptProblem> Problems(string source, string? scopes)
    {
        var (program, problem) = ScriptParser.Parse(source);
        if (program is null) return [problem!];
        var held = scopes?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return ScriptChecks.Check(program, scope => held is null || Application.Keys.Scopes.Grants(held, scope));
    }

    private static async Task<int> CheckAsync(string file, string? scopes, TextWriter stdout)
    {
        var problems = Problems(await File.ReadAllTextAsync(file, Encoding.UTF8), scopes);
        foreach (var p in problems) await stdout.WriteLineAsync($"{file}:{p}");
        if (problems.Count == 0) await stdout.WriteLineAsync($"OK: {file} parses and passes every check");
        return problems.Count == 0 ? 0 : 1;
    }

    private static async Task<int> SignAsync(string keyFile, string name, string file, string? output, TextWriter stdout, TextWriter stderr)
    {
        var source = await File.ReadAllTextAsync(file, Encoding.UTF8);
        var problems = Problems(source, null);
        if (problems.Count > 0)
        {
            foreach (var p in problems) await stderr.WriteLineAsync($"{file}:{p}");
            return 1;
        }
        var privateKey = Convert.FromBase64String((await File.ReadAllTextAsync(keyFile)).Trim());
        var keyId = Ed25519Signatures.KeyId(Ed25519Signatures.PublicKeyOf(privateKey));
        var signature = Ed25519Signatures.Sign(privateKey, Encoding.UTF8.GetBytes(source));
        var body = new JsonObject
        {
            ["name"] = name, ["source"] = source, ["publisherKeyId"] = keyId, ["signature"] = Convert.ToBase64String(signature),
        };
        var text = body.ToJsonString(Indented) + "\n";
        if (output is null) await stdout.WriteAsync(text);
        else await File.WriteAllTextAsync(output, text);
        await stderr.WriteLineAsync($"signed {Encoding.UTF8.GetByteCount(source)} bytes of source with key {keyId}");
        return 0;
    }

    private static async Task<int> VerifyAsync(string publicKeyBase64, string bodyFile, TextWriter stdout)
    {
        var publicKey = Convert.FromBase64String(publicKeyBase64.Trim());
        using var body = JsonDocument.Parse(await File.ReadAllTextAsync(bodyFile));
        if (!body.RootElement.TryGetProperty("source", out var source) || !body.RootElement.TryGetProperty("signature", out var sig))
            throw new FormatException("the file must hold a body {name, source, publisherKeyId, signature}");
        var keyId = Ed25519Signatures.KeyId(publicKey);
        if (Ed25519Signatures.Verify(publicKey, Encoding.UTF8.GetBytes(source.GetString() ?? ""), Convert.FromBase64String(sig.GetString() ?? "")))
        {
            await stdout.WriteLineAsync($"OK: the signature verifies with key {keyId}");
            return 0;
        }
        await stdout.WriteLineAsync($"FAILED: the signature does not verify with key {keyId}");
        return 1;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine(message);
        return 2;
    }
}

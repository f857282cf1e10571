using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>A tree head: how many leaves, and the root over them.</summary>
public sealed record Checkpoint(string Origin, long TreeSize, byte[] RootHash);

/// <summary>
/// C2SP tlog-checkpoint text in a C2SP signed note, Ed25519:
/// <code>
/// &lt;origin&gt;\n&lt;tree size&gt;\n&lt;base64 root&gt;\n\n— &lt;origin&gt; &lt;base64(key id || signature)&gt;\n
/// </code>
/// The key id is the first 4 bytes of SHA-256(origin || "\n" || 0x01 || public key); the signature covers the
/// note text up to and including the newline after the root.
/// </summary>
public static class CheckpointNote
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private const string Dash = "\u2014 ";

    public static byte[] KeyId(string origin, ReadOnlySpan<byte> publicKey)
    {
        byte[] material = [.. Encoding.UTF8.GetBytes(origin), (byte)'\n', 0x01, .. publicKey];
        return SHA256.HashData(material)[..4];
    }

    public static string Body(Checkpoint c) => $"{c.Origin}\n{c.TreeSize}\n{Convert.ToBase64String(c.RootHash)}\n";

    public static string Sign(Checkpoint c, Key key)
    {
        var body = Body(c);
        var signature = Ed25519.Sign(key, Encoding.UTF8.GetBytes(body));
        var keyId = KeyId(c.Origin, key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        return $"{body}\n{Dash}{c.Origin} {Convert.ToBase64String([.. keyId, .. signature])}\n";
    }

    /// <summary>
    /// The checkpoint in the note when a signature line by <paramref name="origin"/>'s key verifies over it;
    /// null for anything else (no such line, another key, an altered body, a malformed note).
    /// </summary>
    public static Checkpoint? Open(string note, string origin, ReadOnlySpan<byte> publicKey)
    {
        var split = note.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0 || !note.EndsWith('\n')) return null;
        var body = note[..(split + 1)];
        var keyId = KeyId(origin, publicKey);
        PublicKey key;
        try { key = PublicKey.Import(Ed25519, publicKey, KeyBlobFormat.RawPublicKey); }
        catch (FormatException) { return null; }

        var signed = false;
        foreach (var line in note[(split + 2)..^1].Split('\n'))
        {
            if (!line.StartsWith(Dash, StringComparison.Ordinal)) return null;
            var parts = line[Dash.Length..].Split(' ');
            if (parts.Length != 2 || parts[0] != origin) continue;
            byte[] blob;
            try { blob = Convert.FromBase64String(parts[1]); }
            catch (FormatException) { return null; }
            if (blob.Length != 4 + Ed25519.SignatureSize || !blob.AsSpan(0, 4).SequenceEqual(keyId)) continue;
            signed |= Ed25519.Verify(key, Encoding.UTF8.GetBytes(body), blob.AsSpan(4));
        }
        return signed ? Parse(body) : null;
    }

    private static Checkpoint? Parse(string body)
    {
        var lines = body[..^1].Split('\n');
        if (lines.Length < 3 || !long.TryParse(lines[1], System.Globalization.NumberStyles.None, null, out var size)) return null;
        try
        {
            var root = Convert.FromBase64String(lines[2]);
            return root.Length == 32 ? new Checkpoint(lines[0], size, root) : null;
        }
        catch (FormatException) { return null; }
    }
}

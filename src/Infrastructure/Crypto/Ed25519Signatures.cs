using System.Security.Cryptography;
using NSec.Cryptography;

namespace Aetherra.Infrastructure.Crypto;

/// <summary>Ed25519 (RFC 8032) key pairs, signatures and verification through NSec, on raw 32-byte keys.</summary>
public static class Ed25519Signatures
{
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    public const int PublicKeyBytes = 32;
    public const int SignatureBytes = 64;

    /// <summary>A new key pair: the private key as its 32-byte seed (RFC 8032), and the public key.</summary>
    public static (byte[] PrivateKey, byte[] PublicKey) Generate()
    {
        using var key = Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        return (key.Export(KeyBlobFormat.RawPrivateKey), key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    public static byte[] PublicKeyOf(byte[] privateKey)
    {
        using var key = Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey);
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public static byte[] Sign(byte[] privateKey, ReadOnlySpan<byte> data)
    {
        using var key = Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey);
        return Algorithm.Sign(key, data);
    }

    /// <summary>Whether the bytes are a usable Ed25519 public key (NSec refuses malformed and small-order points).</summary>
    public static bool IsPublicKey(byte[] publicKey) =>
        publicKey.Length == PublicKeyBytes && PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out _);

    public static bool Verify(byte[] publicKey, ReadOnlySpan<byte> data, byte[] signature) =>
        signature.Length == SignatureBytes
        && PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var key)
        && Algorithm.Verify(key!, data, signature);

    /// <summary>
    /// A key's id: the lowercase hex of the first 16 bytes of SHA-256 over the raw public key. Short enough for a
    /// path, long enough (128 bits) that no two keys share one by accident or by effort.
    /// </summary>
    public static string KeyId(byte[] publicKey) => Convert.ToHexStringLower(SHA256.HashData(publicKey).AsSpan(0, 16));
}

using System.Text;
using NSec.Cryptography;

namespace Aetherra.Infrastructure.Crypto;

/// <summary>
/// A subject's data key: seals content (XChaCha20-Poly1305) and keys the content hash (BLAKE2b-256), so
/// that once the key is destroyed neither the ciphertext nor the hash says anything about the content.
/// </summary>
public sealed class DataKey(Guid id, byte[] material)
{
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.XChaCha20Poly1305;

    public Guid Id { get; } = id;

    public static byte[] NewMaterial() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    public (byte[] Nonce, byte[] Ciphertext) Seal(string plaintext, string associatedData)
    {
        using var key = Import();
        var nonce = System.Security.Cryptography.RandomNumberGenerator.GetBytes(Aead.NonceSize);
        return (nonce, Aead.Encrypt(key, nonce, Encoding.UTF8.GetBytes(associatedData), Encoding.UTF8.GetBytes(plaintext)));
    }

    public string? Open(byte[] nonce, byte[] ciphertext, string associatedData)
    {
        using var key = Import();
        var plain = Aead.Decrypt(key, nonce, Encoding.UTF8.GetBytes(associatedData), ciphertext);
        return plain is null ? null : Encoding.UTF8.GetString(plain);
    }

    /// <summary>Keyed BLAKE2b-256 (hex) of the given parts, separated unambiguously.</summary>
    public string Hash(params string[] parts)
    {
        using var key = Key.Import(MacAlgorithm.Blake2b_256, material, KeyBlobFormat.RawSymmetricKey);
        var joined = string.Join('\u001f', parts);
        return Convert.ToHexStringLower(MacAlgorithm.Blake2b_256.Mac(key, Encoding.UTF8.GetBytes(joined)));
    }

    private Key Import() => Key.Import(Aead, material, KeyBlobFormat.RawSymmetricKey);
}

using System.Text;
using NSec.Cryptography;

namespace Aetherra.Infrastructure.Crypto;

/// <summary>
/// A subject's data key: seals content (XChaCha20-Poly1305) and keys the content hash (BLAKE2b-256), so
/// that once the key is destroyed neither the ciphertext nor the hash says anything about the content.
/// The key material is imported into libsodium's guarded memory once per instance, not per use: that
/// import (mmap and guard pages) costs far more than sealing a memory does.
/// </summary>
public sealed class DataKey(Guid id, byte[] material) : IDisposable
{
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.XChaCha20Poly1305;
    private static readonly MacAlgorithm Mac = MacAlgorithm.Blake2b_256;
    private Key? _sealKey;
    private Key? _hashKey;

    public Guid Id { get; } = id;

    public static byte[] NewMaterial() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    public (byte[] Nonce, byte[] Ciphertext) Seal(string plaintext, string associatedData)
    {
        var nonce = System.Security.Cryptography.RandomNumberGenerator.GetBytes(Aead.NonceSize);
        return (nonce, Aead.Encrypt(SealKey, nonce, Encoding.UTF8.GetBytes(associatedData), Encoding.UTF8.GetBytes(plaintext)));
    }

    public string? Open(byte[] nonce, byte[] ciphertext, string associatedData)
    {
        var plain = Aead.Decrypt(SealKey, nonce, Encoding.UTF8.GetBytes(associatedData), ciphertext);
        return plain is null ? null : Encoding.UTF8.GetString(plain);
    }

    /// <summary>Keyed BLAKE2b-256 (hex) of the given parts, separated unambiguously.</summary>
    public string Hash(params string[] parts) =>
        Convert.ToHexStringLower(Mac.Mac(HashKey, Encoding.UTF8.GetBytes(string.Join('\u001f', parts))));

    private Key SealKey => _sealKey ??= Key.Import(Aead, material, KeyBlobFormat.RawSymmetricKey);
    private Key HashKey => _hashKey ??= Key.Import(Mac, material, KeyBlobFormat.RawSymmetricKey);

    public void Dispose()
    {
        _sealKey?.Dispose();
        _hashKey?.Dispose();
    }
}

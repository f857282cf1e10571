using System.Text;
using NSec.Cryptography;

namespace Aetherra.Infrastructure.Crypto;

/// <summary>
/// The root secret from configuration. It never encrypts data itself: it wraps the per-subject data keys
/// and derives the pepper that API keys are hashed with, each under its own purpose label.
/// </summary>
public sealed class MasterKey : IDisposable
{
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.XChaCha20Poly1305;
    private readonly Key _wrapKey;

    public MasterKey(byte[] secret)
    {
        if (secret.Length != 32) throw new ArgumentException("the master key must be 32 bytes", nameof(secret));
        _wrapKey = Key.Import(Aead, Derive(secret, "aetherra.wrap.v1"), KeyBlobFormat.RawSymmetricKey);
        ApiKeyPepper = Derive(secret, "aetherra.apikey.v1");
    }

    /// <summary>The key of the keyed BLAKE2b hash under which API keys are stored.</summary>
    public byte[] ApiKeyPepper { get; }

    /// <summary>Wraps a data key: nonce || AEAD(ciphertext), bound to what it is the key of.</summary>
    public byte[] Wrap(ReadOnlySpan<byte> dataKey, string context)
    {
        var nonce = System.Security.Cryptography.RandomNumberGenerator.GetBytes(Aead.NonceSize);
        var sealedKey = Aead.Encrypt(_wrapKey, nonce, Encoding.UTF8.GetBytes(context), dataKey);
        return [.. nonce, .. sealedKey];
    }

    public byte[] Unwrap(ReadOnlySpan<byte> wrapped, string context) =>
        Aead.Decrypt(_wrapKey, wrapped[..Aead.NonceSize], Encoding.UTF8.GetBytes(context), wrapped[Aead.NonceSize..])
        ?? throw new InvalidOperationException("a data key failed to unwrap: wrong master key or a tampered key table");

    private static byte[] Derive(byte[] secret, string purpose)
    {
        using var key = Key.Import(MacAlgorithm.Blake2b_256, secret, KeyBlobFormat.RawSymmetricKey);
        return MacAlgorithm.Blake2b_256.Mac(key, Encoding.UTF8.GetBytes(purpose));
    }

    public void Dispose() => _wrapKey.Dispose();
}

using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Application.Common;

/// <summary>How memory content is sealed, opened and hashed with its subject's data key.</summary>
public static class MemoryContent
{
    // The ciphertext is bound to its tenant and memory: a sealed blob moved elsewhere does not open.
    private static string Binding(string tenant, Guid memoryId) => $"{tenant}\u001f{memoryId}";

    public static EncryptedText Seal(DataKey key, string tenant, Guid memoryId, string content)
    {
        var (nonce, ciphertext) = key.Seal(content, Binding(tenant, memoryId));
        return new EncryptedText(key.Id, nonce, ciphertext);
    }

    public static string? Open(IReadOnlyDictionary<Guid, DataKey> keys, string tenant, Guid memoryId, EncryptedText? sealedText) =>
        sealedText is not null && keys.TryGetValue(sealedText.KeyId, out var key)
            ? key.Open(sealedText.Nonce, sealedText.Ciphertext, Binding(tenant, memoryId))
            : null;

    /// <summary>Keyed BLAKE2b-256 of the normalised content with its subject and agent.</summary>
    public static string Hash(DataKey key, string content, string subject, string agent) =>
        key.Hash(MemoryDecisions.Normalise(content), subject, agent);
}

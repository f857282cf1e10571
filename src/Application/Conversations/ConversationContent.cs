using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Application.Conversations;

/// <summary>How a turn's content is sealed and opened with its subject's data key (as memory content is).</summary>
public static class ConversationContent
{
    // Bound to its tenant, conversation and turn: a sealed blob moved to another turn or tenant does not open.
    private static string Binding(string tenant, Guid conversationId, int turn) => $"{tenant}\u001f{conversationId}\u001f{turn}";

    public static EncryptedText Seal(DataKey key, string tenant, Guid conversationId, int turn, string content)
    {
        var (nonce, ciphertext) = key.Seal(content, Binding(tenant, conversationId, turn));
        return new EncryptedText(key.Id, nonce, ciphertext);
    }

    public static string? Open(IReadOnlyDictionary<Guid, DataKey> keys, string tenant, Guid conversationId, int turn, EncryptedText sealedText) =>
        keys.TryGetValue(sealedText.KeyId, out var key) ? key.Open(sealedText.Nonce, sealedText.Ciphertext, Binding(tenant, conversationId, turn)) : null;
}

using NSec.Cryptography;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>The server's checkpoint signing key (Ed25519), loaded once.</summary>
public sealed class AuditSigner : IDisposable
{
    private readonly Key _key;

    public AuditSigner(AuditLogSettings settings)
    {
        _key = settings.SigningKey();
        Origin = settings.Origin;
        PublicKey = _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public string Origin { get; }
    public byte[] PublicKey { get; }
    public byte[] KeyId => CheckpointNote.KeyId(Origin, PublicKey);

    public string Sign(long treeSize, byte[] rootHash) => CheckpointNote.Sign(new Checkpoint(Origin, treeSize, rootHash), _key);

    public void Dispose() => _key.Dispose();
}

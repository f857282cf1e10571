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

    public string Sign(long treeSize, byte[] rootHash) => Sign(Origin, treeSize, rootHash);

    /// <summary>A checkpoint of the tree named by <paramref name="origin"/> (one tree per database: AuditLogs).</summary>
    public string Sign(string origin, long treeSize, byte[] rootHash) => CheckpointNote.Sign(new Checkpoint(origin, treeSize, rootHash), _key);

    /// <summary>
    /// An Ed25519 signature over other statements of the installation (ship manifests). They are JSON objects naming
    /// their own type, so none can be read as a checkpoint note (which starts with the origin line), nor one as them.
    /// </summary>
    public byte[] SignStatement(ReadOnlySpan<byte> canonicalJson)
    {
        if (canonicalJson.IsEmpty || canonicalJson[0] != (byte)'{') throw new ArgumentException("a statement is a canonical JSON object");
        return SignatureAlgorithm.Ed25519.Sign(_key, canonicalJson);
    }

    public void Dispose() => _key.Dispose();
}

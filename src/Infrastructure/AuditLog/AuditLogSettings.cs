using System.Text;
using Microsoft.Extensions.Configuration;
using NSec.Cryptography;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>
/// Who signs the log's checkpoints and how often. The Ed25519 key comes from AETHERRA_AUDIT_KEY (base64 of a
/// 32-byte seed) or the file AETHERRA_AUDIT_KEY_FILE (ops/run generates .aetherra/audit.key once); without
/// either it is derived from the master key, so a deployment without the setting still signs with one
/// stable key (but then whoever holds the master key can also sign: production should set its own).
/// </summary>
public sealed record AuditLogSettings(byte[] SigningSeed, string Origin, TimeSpan CheckpointInterval, long CheckpointEvery)
{
    public const string DefaultOrigin = "aetherra.local/audit";

    public static AuditLogSettings From(IConfiguration config, byte[] masterKey)
    {
        var text = config["AETHERRA_AUDIT_KEY"];
        if (string.IsNullOrWhiteSpace(text) && config["AETHERRA_AUDIT_KEY_FILE"] is { Length: > 0 } file)
            text = File.ReadAllText(file);
        var seed = string.IsNullOrWhiteSpace(text) ? Derive(masterKey) : Convert.FromBase64String(text.Trim());
        if (seed.Length != 32) throw new InvalidOperationException("The audit signing key must be 32 bytes (base64).");
        var interval = double.TryParse(config["AETHERRA_AUDIT_CHECKPOINT_SECONDS"], System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 10;
        var every = long.TryParse(config["AETHERRA_AUDIT_CHECKPOINT_EVENTS"], out var n) && n > 0 ? n : 10_000;
        var origin = config["AETHERRA_AUDIT_ORIGIN"] is { Length: > 0 } o ? o : DefaultOrigin;
        return new AuditLogSettings(seed, origin, TimeSpan.FromSeconds(interval), every);
    }

    public Key SigningKey() => Key.Import(SignatureAlgorithm.Ed25519, SigningSeed, KeyBlobFormat.RawPrivateKey,
        new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });

    public byte[] PublicKey()
    {
        using var key = SigningKey();
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    private static byte[] Derive(byte[] masterKey)
    {
        using var key = Key.Import(MacAlgorithm.Blake2b_256, masterKey, KeyBlobFormat.RawSymmetricKey);
        return MacAlgorithm.Blake2b_256.Mac(key, Encoding.UTF8.GetBytes("aetherra.audit-signing.v1"));
    }
}

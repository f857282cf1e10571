using System.Security.Cryptography;
using System.Text;

namespace Aetherra.Domain.Decisions;

/// <summary>The autonomy policy of one agent and category: the threshold in force, folded from its stream.</summary>
public sealed record AutonomyPolicy(Guid Id, string Agent, string Category, double Threshold, int Version)
{
    public static AutonomyPolicy Create(AutonomyThresholdAdjusted e) => new(e.PolicyId, e.Agent, e.Category, e.To, 1);

    public AutonomyPolicy Apply(AutonomyThresholdAdjusted e) => this with { Threshold = e.To, Version = Version + 1 };

    /// <summary>
    /// The policy stream's id: a name-based (RFC 9562 version 5) UUID of agent and category, so every command finds
    /// the same stream without a lookup. Tenants cannot collide: under conjoined tenancy a stream's key is
    /// (tenant, id).
    /// </summary>
    public static Guid IdFor(string agent, string category)
    {
        var name = Encoding.UTF8.GetBytes($"{agent}\u001f{category}");
        var input = new byte[Namespace.Length + name.Length];
        Namespace.CopyTo(input, 0);
        name.CopyTo(input, Namespace.Length);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
        var bytes = hash[..16].ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }

    // Aetherra's namespace for policy ids (a fixed random UUID, big-endian bytes).
    private static readonly byte[] Namespace = Guid.Parse("6b1f3e0a-4f6c-4d0e-9a57-2c1d8e5b7a43").ToByteArray(bigEndian: true);
}

/// <summary>Corrections from outside the threshold rule (homeostasis): they only ever make an agent more careful.</summary>
public static class AutonomyCorrections
{
    /// <summary>Raises the threshold by <paramref name="by"/> (capped at 1); null when it is already at 1.</summary>
    public static AutonomyThresholdAdjusted? Raise(
        Guid policyId, string agent, string category, double current, double by, string reason, DateTimeOffset now)
    {
        if (by is <= 0 or > 1 || double.IsNaN(by)) throw new DomainRuleViolated("a raise is more than 0 and at most 1");
        var to = Math.Min(1, Math.Round(current + by, 4));
        return to <= current ? null : new AutonomyThresholdAdjusted(policyId, agent, category, current, to, reason, 0, null, now);
    }
}

using System.Security.Cryptography;
using System.Text;

namespace Aetherra.Domain.Agents;

public enum AgentStatus { Active, Suspended }

public sealed record AgentRegistered(Guid AgentId, string Name, string? Description, DateTimeOffset At);

/// <summary>The agent may no longer act alone: its decisions escalate and its task claims are refused.</summary>
public sealed record AgentSuspended(Guid AgentId, string Name, string? Reason, DateTimeOffset At);

public sealed record AgentResumed(Guid AgentId, string Name, DateTimeOffset At);

/// <summary>A registered agent, folded from its stream (one per agent name).</summary>
public sealed record Agent(Guid Id, string Name, string? Description, AgentStatus Status, string? SuspendedReason,
    DateTimeOffset RegisteredAt, int Version)
{
    public static Agent Create(AgentRegistered e) => new(e.AgentId, e.Name, e.Description, AgentStatus.Active, null, e.At, 1);

    public Agent Apply(AgentSuspended e) => this with { Status = AgentStatus.Suspended, SuspendedReason = e.Reason, Version = Version + 1 };

    public Agent Apply(AgentResumed e) => this with { Status = AgentStatus.Active, SuspendedReason = null, Version = Version + 1 };

    /// <summary>
    /// The agent's stream id: a name-based (RFC 9562 version 5) UUID of its name, so a decision or a claim finds it
    /// by name without a lookup (tenants cannot collide: a stream's key is (tenant, id)).
    /// </summary>
    public static Guid IdFor(string name)
    {
        var input = Namespace.Concat(Encoding.UTF8.GetBytes(name)).ToArray();
#pragma warning disable CA5350 // SHA-1 is what RFC 9562 version 5 prescribes; it names, it does not protect.
        var bytes = SHA1.HashData(input).AsSpan(0, 16).ToArray();
#pragma warning restore CA5350
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }

    private static readonly byte[] Namespace = Guid.Parse("3c0b7d52-91e4-4a8f-b6d2-5e7f0a1c9b38").ToByteArray(bigEndian: true);
}

public static class AgentRules
{
    public static AgentSuspended Suspend(Agent agent, string? reason, DateTimeOffset now) =>
        agent.Status == AgentStatus.Suspended
            ? throw new DomainRuleViolated($"agent {agent.Name} is already suspended")
            : new AgentSuspended(agent.Id, agent.Name, reason, now);

    public static AgentResumed Resume(Agent agent, DateTimeOffset now) =>
        agent.Status == AgentStatus.Active
            ? throw new DomainRuleViolated($"agent {agent.Name} is not suspended")
            : new AgentResumed(agent.Id, agent.Name, now);
}

using Aetherra.Domain;
using Aetherra.Domain.Agents;
using Marten;

namespace Aetherra.Application.Agents;

/// <summary>
/// An agent's standing as the write paths see it. Names that were never registered stand as active: memories,
/// decisions and tasks written under them before agents existed keep working.
/// </summary>
public static class AgentStatuses
{
    public static async Task<bool> IsSuspendedAsync(IQuerySession session, string agent, CancellationToken ct) =>
        (await session.LoadAsync<Agent>(Agent.IdFor(agent), ct))?.Status == AgentStatus.Suspended;

    public static async Task EnsureMayActAsync(IDocumentStore store, string tenant, string agent, string what, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        if (await IsSuspendedAsync(session, agent, ct))
            throw new DomainRuleViolated(Refusal(agent, what));
    }

    public static string Refusal(string agent, string what) => $"agent {agent} is suspended and may not {what}";
}

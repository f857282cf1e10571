using Aetherra.Application.Common;
using Aetherra.Application.Learning;
using Aetherra.Domain.Agents;
using Aetherra.Domain.Decisions;
using Aetherra.Domain.Tasks;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Agents;

public sealed record CalibrationView(string Category, int Decisions, int Resolved, double? Brier, double? SuccessRate, double? Threshold);

public sealed record TaskCounts(int Queued, int Waiting, int Running, int Completed, int Failed, int Cancelled);

public sealed record AgentProfile(
    string Name, string Status, string? Description, string? SuspendedReason, DateTimeOffset? RegisteredAt, int Memories,
    int Decisions, int Escalated, IReadOnlyList<CalibrationView> Calibration, TaskCounts Tasks, IReadOnlyDictionary<string, int> Changes);

/// <summary>
/// What an agent wrote, decided and was trusted with, gathered from each feature's read model: memories and
/// decisions under its name, its calibration per category from the learning loop (the "self-trust" the governor
/// grants it), and the tasks it holds or held (or that are for it alone). A name never registered but used has
/// status "unregistered"; a name nothing knows is 404.
/// </summary>
public static class ReadAgent
{
    public static async Task<AgentProfile> Handle(string name, IQuerySession session, CancellationToken ct)
    {
        var agent = await session.LoadAsync<Agent>(Agent.IdFor(name), ct);
        var memories = await session.Query<MemoryState>().CountAsync(m => m.Agent == name, ct);
        var decisions = await session.Query<Decision>().CountAsync(d => d.Agent == name, ct);
        var escalated = await session.Query<Decision>().CountAsync(d => d.Agent == name && d.Status == DecisionStatus.Escalated, ct);
        var learning = await ReadLearning.Handle(session, name, ct);
        var statuses = await session.Query<AgentTask>().Where(t => t.ClaimedBy == name || t.Agent == name).Select(t => t.Status).ToListAsync(ct);
        var changes = await Changes.ReadChange.CountsFor(name, session, ct);
        if (agent is null && memories == 0 && decisions == 0 && statuses.Count == 0 && changes.Values.Sum() == 0) throw new NotFound("agent");

        int Count(AgentTaskStatus s) => statuses.Count(x => x == s);
        return new AgentProfile(name, agent is null ? "unregistered" : agent.Status.ToString().ToLowerInvariant(), agent?.Description,
            agent?.SuspendedReason, agent?.RegisteredAt, memories, decisions, escalated,
            learning.Categories.Select(c => new CalibrationView(c.Category, c.Decisions, c.Resolved, c.Brier, c.SuccessRate, c.Threshold)).ToList(),
            new TaskCounts(Count(AgentTaskStatus.Queued), Count(AgentTaskStatus.Waiting), Count(AgentTaskStatus.Claimed),
                Count(AgentTaskStatus.Completed), Count(AgentTaskStatus.Failed), Count(AgentTaskStatus.Cancelled)), changes);
    }
}

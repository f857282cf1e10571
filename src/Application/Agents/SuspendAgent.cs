using Aetherra.Application.Common;
using Aetherra.Domain.Agents;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Agents;

public sealed record SuspendAgent(string? Reason);

public sealed class SuspendAgentValidator : AbstractValidator<SuspendAgent>
{
    public SuspendAgentValidator() => RuleFor(x => x.Reason).MaximumLength(AgentActions.MaxDescriptionLength);
}

public static class SuspendAgentHandler
{
    /// <summary>From now on the agent's decisions escalate and its claims are refused; claims it holds run out by their leases.</summary>
    public static Task<AgentResult> Handle(string name, SuspendAgent body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        MoveAsync(name, command, store, clock, (agent, now) => AgentRules.Suspend(agent, body.Reason, now), "suspended", ct);

    internal static async Task<AgentResult> MoveAsync(string name, CommandContext command, IDocumentStore store, TimeProvider clock,
        Func<Agent, DateTimeOffset, object> decide, string status, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var stream = await session.Events.FetchForWriting<Agent>(Agent.IdFor(name), ct);
        var agent = stream.Aggregate ?? throw new NotFound("agent");
        var now = clock.GetUtcNow();
        stream.AppendOne(decide(agent, now));
        try
        {
            return new AgentResult(name, status, await session.CommitAsync(command, name, Outcome.Done, now, ct));
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw new VersionConflict(agent.Version);
        }
    }
}

using Aetherra.Domain.Agents;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;

namespace Aetherra.Application.Agents;

public static class AgentActions
{
    public const string Register = "agent.register";
    public const string Suspend = "agent.suspend";
    public const string Resume = "agent.resume";

    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2_000;
}

public static class AgentConfiguration
{
    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<AgentRegistered>("agent.registered.v1");
        opts.Events.MapEventType<AgentSuspended>("agent.suspended.v1");
        opts.Events.MapEventType<AgentResumed>("agent.resumed.v1");
        // Inline: the governor and the task queue read an agent's status in the write path.
        opts.Projections.Add(new AgentProjection(), ProjectionLifecycle.Inline);
    }
}

public sealed partial class AgentProjection : SingleStreamProjection<Agent, Guid>
{
    public static Agent Create(AgentRegistered e) => Agent.Create(e);
    public static Agent Apply(AgentSuspended e, Agent a) => a.Apply(e);
    public static Agent Apply(AgentResumed e, Agent a) => a.Apply(e);
}

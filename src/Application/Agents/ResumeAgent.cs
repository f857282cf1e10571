using Aetherra.Application.Common;
using Aetherra.Domain.Agents;
using Marten;

namespace Aetherra.Application.Agents;

public static class ResumeAgentHandler
{
    public static Task<AgentResult> Handle(string name, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        SuspendAgentHandler.MoveAsync(name, command, store, clock, AgentRules.Resume, "active", ct);
}

using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Agents;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Agents;

public sealed record RegisterAgent(string? Name, string? Description);

public sealed record AgentResult(string Name, string Status, long Sequence);

public sealed class RegisterAgentValidator : AbstractValidator<RegisterAgent>
{
    public RegisterAgentValidator()
    {
        // Names travel in paths (/agents/{name}): letters, digits and . _ - : @ only.
        RuleFor(x => x.Name).NotEmpty().MaximumLength(AgentActions.MaxNameLength)
            .Matches("^[A-Za-z0-9][A-Za-z0-9._:@-]*$").WithMessage("'Name' must start with a letter or digit and hold only letters, digits and . _ - : @");
        RuleFor(x => x.Description).MaximumLength(AgentActions.MaxDescriptionLength);
    }
}

public static class RegisterAgentHandler
{
    /// <summary>Starts the agent's stream (one per name); a name is registered once (422 the second time).</summary>
    public static async Task<AgentResult> Handle(RegisterAgent body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct)
    {
        var id = Agent.IdFor(body.Name!);
        await using var session = store.OpenFor(command);
        if (await session.LoadAsync<Agent>(id, ct) is not null) throw new DomainRuleViolated($"agent {body.Name} is already registered");
        var now = clock.GetUtcNow();
        session.Events.StartStream<Agent>(id, new AgentRegistered(id, body.Name!, body.Description, now));
        try
        {
            return new AgentResult(body.Name!, "active", await session.CommitAsync(command, body.Name, Outcome.Created, now, ct));
        }
        catch (Exception e) when (ConflictPolicy.IsTaken(e))
        {
            throw new DomainRuleViolated($"agent {body.Name} is already registered");
        }
    }
}

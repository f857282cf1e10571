using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using FluentValidation;
using JasperFx;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

public sealed record ReinforceMemory(double? Weight, string? Reason);

public sealed record ReinforceMemoryResult(Guid Id, int Version, long Sequence);

public sealed class ReinforceMemoryValidator : AbstractValidator<ReinforceMemory>
{
    public ReinforceMemoryValidator()
    {
        RuleFor(x => x.Weight).GreaterThan(0).LessThanOrEqualTo(MemoryDecisions.MaxReinforcement);
        RuleFor(x => x.Reason).MaximumLength(MemoryLimits.MaxReasonLength);
    }
}

public static class ReinforceMemoryHandler
{
    /// <summary>The memory was useful: it gains weight in recall (decaying with the reinforcement's age).</summary>
    public static async Task<ReinforceMemoryResult> Handle(
        Guid id, ReinforceMemory body, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        try
        {
            var stream = await session.Events.FetchForWriting<MemoryState>(id, ct);
            var current = stream.Aggregate ?? throw new NotFound("memory");
            var now = clock.GetUtcNow();
            stream.AppendOne(MemoryDecisions.Reinforce(current, body.Weight ?? 1, body.Reason, now));
            var sequence = await session.CommitAsync(command, id.ToString(), 200, now, ct);
            return new ReinforceMemoryResult(id, current.Version + 1, sequence);
        }
        catch (ConcurrencyException)
        {
            throw await ReviseMemoryHandler.ConflictAsync(store, command.Tenant, id, ct);
        }
    }
}

using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using FluentValidation;
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
    /// <summary>Attempts before a reinforcement gives up on a busy memory: each attempt lets at least one writer through.</summary>
    public const int MaxAttempts = 40;

    /// <summary>
    /// The memory was useful: it gains weight in recall (decaying with the reinforcement's age). A reinforcement
    /// names no version, so losing a race to another writer is no conflict of the client's: it is tried again
    /// on the memory's new version (bounded; a still-busy memory then answers 409 as before).
    /// </summary>
    public static Task<ReinforceMemoryResult> Handle(
        Guid id, ReinforceMemory body, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        ConflictPolicy.RetryAsync(() => TryOnceAsync(id, body, command, store, clock, ct),
            exhausted: () => ReviseMemoryHandler.ConflictAsync(store, command.Tenant, id, ct), MaxAttempts,
            pause: attempt => Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 + Math.Min(attempt, 20))), clock, ct));

    private static async Task<ReinforceMemoryResult> TryOnceAsync(
        Guid id, ReinforceMemory body, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var stream = await session.Events.FetchForWriting<MemoryState>(id, ct);
        var current = stream.Aggregate ?? throw new NotFound("memory");
        var now = clock.GetUtcNow();
        stream.AppendOne(MemoryDecisions.Reinforce(current, body.Weight ?? 1, body.Reason, now));
        var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct);
        return new ReinforceMemoryResult(id, current.Version + 1, sequence);
    }
}

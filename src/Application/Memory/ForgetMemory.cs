using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

public sealed record ForgetMemoryResult(Guid Id, string Status, long Sequence);

public static class ForgetMemoryHandler
{
    public static async Task<ForgetMemoryResult> Handle(
        Guid id, string? reason, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        try
        {
            var stream = await session.Events.FetchForWriting<MemoryState>(id, ct);
            var current = stream.Aggregate ?? throw new NotFound("memory");
            var now = clock.GetUtcNow();
            stream.AppendOne(MemoryDecisions.Forget(current, reason, now));
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct);
            return new ForgetMemoryResult(id, "forgotten", sequence);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw await ReviseMemoryHandler.ConflictAsync(store, command.Tenant, id, ct);
        }
    }
}

using Aetherra.Application.Common;
using Aetherra.Domain.Changes;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Changes;

public sealed record RollbackChange(string? Reason);

public sealed record ChangeStatusResult(Guid Id, string Status, long Sequence);

public sealed class RollbackChangeValidator : AbstractValidator<RollbackChange>
{
    public RollbackChangeValidator() => RuleFor(x => x.Reason).NotEmpty().MaximumLength(ChangeLimits.MaxReasonLength);
}

public static class RollbackChangeHandler
{
    /// <summary>A shipped change is rolled back: an event with its reason (the manifest stays, as the record of what shipped).</summary>
    public static async Task<ChangeStatusResult> Handle(Guid id, RollbackChange body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var stream = await session.Events.FetchForWriting<Change>(id, ct);
        var change = stream.Aggregate ?? throw new NotFound("change");
        var now = clock.GetUtcNow();
        stream.AppendOne(ChangeRules.RollBack(change, body.Reason!, now));
        try
        {
            return new ChangeStatusResult(id, "rolled-back", await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct));
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw new VersionConflict(change.Version);
        }
    }
}

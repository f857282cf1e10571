using Aetherra.Application.Common;
using Aetherra.Domain.Changes;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Changes;

public sealed record ProposeChange(string? Title, string? Repository, string? BaseRevision, string? Patch, string? Plan, string? Agent);

public sealed record ProposeChangeResult(Guid Id, string Status, string PatchSha256, long Sequence);

public sealed class ProposeChangeValidator : AbstractValidator<ProposeChange>
{
    public ProposeChangeValidator()
    {
        RuleFor(x => x.Title).NotEmpty().MaximumLength(ChangeLimits.MaxTitleLength);
        RuleFor(x => x.Repository).NotEmpty().MaximumLength(ChangeLimits.MaxRepositoryLength);
        RuleFor(x => x.BaseRevision).NotEmpty().MaximumLength(ChangeLimits.MaxRevisionLength);
        RuleFor(x => x.Plan).NotEmpty().MaximumLength(ChangeLimits.MaxPlanLength);
        RuleFor(x => x.Agent).NotEmpty().MaximumLength(Agents.AgentActions.MaxNameLength);
        RuleFor(x => x.Patch).NotEmpty().MaximumLength(ChangeLimits.MaxPatchLength)
            .Must(BeAUnifiedDiff).WithMessage("'Patch' must be a unified diff: '--- ' and '+++ ' file lines and '@@' hunks.");
    }

    private static bool BeAUnifiedDiff(string? patch)
    {
        if (string.IsNullOrEmpty(patch)) return true;
        var lines = patch.Split('\n');
        return lines.Any(l => l.StartsWith("--- ", StringComparison.Ordinal)) && lines.Any(l => l.StartsWith("+++ ", StringComparison.Ordinal))
               && lines.Any(l => l.StartsWith("@@ ", StringComparison.Ordinal));
    }
}

public static class ProposeChangeHandler
{
    /// <summary>Starts the change's stream; the patch's SHA-256 (over its UTF-8 bytes) is what every stage signs.</summary>
    public static async Task<ProposeChangeResult> Handle(ProposeChange body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        var now = clock.GetUtcNow();
        var sha = ChangeSignatures.Sha256Hex(body.Patch!);
        await using var session = store.OpenFor(command);
        session.Events.StartStream<Change>(id,
            new ChangeProposed(id, body.Title!, body.Repository!, body.BaseRevision!, body.Patch!, sha, body.Plan!, body.Agent!, now));
        return new ProposeChangeResult(id, "proposed", sha, await session.CommitAsync(command, id.ToString(), Outcome.Created, now, ct));
    }
}

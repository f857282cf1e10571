using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using JasperFx;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

public sealed record ReviseMemory(string? Content, string? Reason, long? ExpectedVersion);

public sealed record ReviseMemoryResult(Guid Id, long Version, long Sequence);

public sealed class ReviseMemoryValidator : AbstractValidator<ReviseMemory>
{
    public ReviseMemoryValidator()
    {
        RuleFor(x => x.Content).Cascade(CascadeMode.Stop).NotEmpty().Must(c => !string.IsNullOrWhiteSpace(c)).WithMessage("'Content' must not be blank.")
            .MaximumLength(MemoryLimits.MaxContentLength);
        RuleFor(x => x.Reason).NotEmpty().MaximumLength(MemoryLimits.MaxReasonLength);
        RuleFor(x => x.ExpectedVersion).GreaterThanOrEqualTo(1);
    }
}

public static class ReviseMemoryHandler
{
    public static async Task<ReviseMemoryResult> Handle(
        Guid id, ReviseMemory revision, CommandContext command, IDocumentStore store, SubjectKeyStore keys,
        TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        try
        {
            var connection = await session.BeginAsync(ct);
            // With expectedVersion the check is immediate; without it, the version read here is still
            // enforced at commit, so two concurrent revisions never silently overwrite each other.
            var stream = revision.ExpectedVersion is { } expected
                ? await session.Events.FetchForWriting<MemoryState>(id, expected, ct)
                : await session.Events.FetchForWriting<MemoryState>(id, ct);
            var current = stream.Aggregate ?? throw new NotFound("memory");
            var now = clock.GetUtcNow();
            MemoryDecisions.EnsureActive(current, now, "revised");

            using var key = await keys.GetOrCreateAsync(connection, command.Tenant, current.Subject, ct);
            stream.AppendOne(MemoryDecisions.Revise(current,
                MemoryContent.Seal(key, command.Tenant, id, revision.Content!),
                MemoryContent.Hash(key, revision.Content!, current.Subject, current.Agent),
                revision.Reason!, now));
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct);
            return new ReviseMemoryResult(id, current.Version + 1, sequence);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw await ConflictAsync(store, command.Tenant, id, ct);
        }
        catch (Exception e) when (Sessions.IsUniqueViolation(e, MemoryConfiguration.DedupIndex))
        {
            throw new DomainRuleViolated("another active memory of this subject and agent already holds this content");
        }
    }

    /// <summary>A memory's conflict, as <see cref="ConflictPolicy"/> answers it: 409 at its current version, or not found.</summary>
    internal static Task<Exception> ConflictAsync(IDocumentStore store, string tenant, Guid id, CancellationToken ct) =>
        ConflictPolicy.CurrentVersionAsync<MemoryState>(store, tenant, id, "memory", m => m.Version, ct);
}

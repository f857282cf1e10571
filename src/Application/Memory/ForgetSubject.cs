using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

/// <summary>The body form of forgetting a subject: any subject that can be written, whatever it holds ('/', '%').</summary>
public sealed record ForgetSubject(string? Subject);

public sealed record ForgetSubjectResult(string Subject, int MemoriesForgotten, long Sequence);

public sealed class ForgetSubjectValidator : AbstractValidator<ForgetSubject>
{
    public ForgetSubjectValidator() => RuleFor(x => x.Subject).NotEmpty().MaximumLength(MemoryLimits.MaxNameLength);
}

public static class ForgetSubjectHandler
{
    /// <summary>
    /// Crypto-shredding: destroys the subject's data key and forgets its memories in one transaction. The
    /// delete waits for writers holding the key (they take FOR KEY SHARE), so every memory sealed with it
    /// is committed, and found here, before the key is gone. Events stay; their content is noise from now on.
    /// A subject with neither a key nor an active memory is not found: an erasure that erased nothing must not
    /// read as done (a mistyped or wrongly encoded subject).
    /// </summary>
    public static async Task<ForgetSubjectResult> Handle(
        string subject, CommandContext command, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var connection = await session.BeginAsync(ct);
        var hadKey = await keys.DestroyAsync(connection, command.Tenant, subject, ct);
        await Recall.RecallSchema.EraseFromAnalysisCopiesAsync(connection, command.Tenant, subject, ct);
        var now = clock.GetUtcNow();
        var ids = await session.Query<MemoryState>()
            .Where(m => m.Subject == subject && m.Status != MemoryStatus.Forgotten)
            .Select(m => m.Id)
            .ToListAsync(ct);
        if (!hadKey && ids.Count == 0) throw new NotFound("subject");
        foreach (var id in ids)
            session.Events.Append(id, new MemoryForgotten(id, "subject forgotten", now));
        session.Events.StartStream(Guid.CreateVersion7(), new SubjectForgotten(subject, ids.Count, now));
        var sequence = await session.CommitAsync(command, subject, Outcome.Done, now, ct);
        return new ForgetSubjectResult(subject, ids.Count, sequence);
    }
}

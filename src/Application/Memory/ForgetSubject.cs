using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

public sealed record ForgetSubjectResult(string Subject, int MemoriesForgotten, long Sequence);

public static class ForgetSubjectHandler
{
    /// <summary>
    /// Crypto-shredding: destroys the subject's data key and forgets its memories in one transaction. The
    /// delete waits for writers holding the key (they take FOR KEY SHARE), so every memory sealed with it
    /// is committed, and found here, before the key is gone. Events stay; their content is noise from now on.
    /// </summary>
    public static async Task<ForgetSubjectResult> Handle(
        string subject, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var connection = await session.BeginAsync(ct);
        await SubjectKeyStore.DestroyAsync(connection, command.Tenant, subject, ct);
        await Recall.RecallSchema.EraseFromAnalysisCopiesAsync(connection, command.Tenant, subject, ct);
        var now = clock.GetUtcNow();
        var ids = await session.Query<MemoryState>()
            .Where(m => m.Subject == subject && m.Status != MemoryStatus.Forgotten)
            .Select(m => m.Id)
            .ToListAsync(ct);
        foreach (var id in ids)
            session.Events.Append(id, new MemoryForgotten(id, "subject forgotten", now));
        session.Events.StartStream(Guid.CreateVersion7(), new SubjectForgotten(subject, ids.Count, now));
        var sequence = await session.CommitAsync(command, subject, 200, now, ct);
        return new ForgetSubjectResult(subject, ids.Count, sequence);
    }
}

using Aetherra.Application.Common;
using Aetherra.Application.Decisions;
using Aetherra.Domain.Conversations;
using Marten;

namespace Aetherra.Application.Conversations;

public sealed record CloseConversationResult(Guid Id, string Status, long Sequence);

public static class CloseConversationHandler
{
    public static Task<CloseConversationResult> Handle(
        Guid id, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        ConflictPolicy.RetryAsync(async () =>
        {
            await using var session = store.OpenFor(command);
            var stream = await session.Events.FetchForWriting<Conversation>(id, ct);
            var current = stream.Aggregate ?? throw new NotFound("conversation");
            var now = clock.GetUtcNow();
            stream.AppendOne(ConversationDecisions.Close(current, now));
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct);
            return new CloseConversationResult(id, "closed", sequence);
        });
}

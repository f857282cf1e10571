using Aetherra.Application.Common;
using Aetherra.Application.Decisions;
using Aetherra.Domain.Conversations;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Conversations;

public sealed record RecordTurn(string? Role, string? Content);

public sealed record RecordTurnResult(int Turn, long Sequence);

public sealed class RecordTurnValidator : AbstractValidator<RecordTurn>
{
    public RecordTurnValidator()
    {
        RuleFor(x => x.Role).NotEmpty().Must(r => Enum.TryParse<TurnRole>(r, true, out _) && !int.TryParse(r, out _))
            .WithMessage("'Role' must be one of user, assistant, tool.");
        RuleFor(x => x.Content).TurnContent();
    }
}

public static class TurnRules
{
    public static IRuleBuilderOptions<T, string?> TurnContent<T>(this IRuleBuilderInitial<T, string?> rule) =>
        rule.Cascade(CascadeMode.Stop).NotEmpty().Must(c => !string.IsNullOrWhiteSpace(c)).WithMessage("'{PropertyName}' must not be blank.")
            .MaximumLength(ConversationLimits.MaxContentLength)
            ;
}

/// <summary>An assistant that calls its own model logs its turns here; nothing is generated.</summary>
public static class RecordTurnHandler
{
    public static async Task<RecordTurnResult> Handle(
        Guid id, RecordTurn body, CommandContext command, ConversationEngine engine, CancellationToken ct)
    {
        var role = Enum.Parse<TurnRole>(body.Role!, true);
        return await ConflictPolicy.RetryAsync(async () =>
        {
            await using var session = engine.Store.OpenFor(command);
            var (turn, _) = await TurnWriter.AppendAsync(session, command, engine, id, role, body.Content!, [], null, engine.Clock.GetUtcNow(), ct);
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Created, turn.At, ct);
            return new RecordTurnResult(turn.Turn, sequence);
        });
    }
}

/// <summary>The one way a turn enters a conversation: decided on its state, sealed with its subject's key.</summary>
internal static class TurnWriter
{
    /// <summary>
    /// Appends the turn to the session (which the caller commits), with a user turn's extraction message. The subject's key is held FOR KEY SHARE until
    /// then, so forgetting the subject waits for this turn and its key destroys it too.
    /// </summary>
    /// <param name="locked">
    /// Called once the conversation's stream is locked and read, before the rest of the write: the turn's number is
    /// then <see cref="Conversation.NextTurn"/> for good (a reply starts its recall and model call from here).
    /// </param>
    public static async Task<(TurnRecorded Turn, Conversation Before)> AppendAsync(
        IDocumentSession session, CommandContext command, ConversationEngine engine, Guid id, TurnRole role, string content,
        IReadOnlyList<Citation> citations, ReplyInfo? reply, DateTimeOffset now, CancellationToken ct, Action<Conversation>? locked = null)
    {
        var connection = await session.BeginAsync(ct);
        // Exclusive: turns of one conversation are numbered one after another, so writers queue on the stream's
        // row instead of colliding on its version and retrying.
        var stream = await session.Events.FetchForExclusiveWriting<Conversation>(id, ct);
        var current = stream.Aggregate ?? throw new NotFound("conversation");
        locked?.Invoke(current);
        using var key = await engine.Keys.GetOrCreateAsync(connection, command.Tenant, current.Subject, ct);
        var turn = ConversationDecisions.RecordTurn(current, role,
            ConversationContent.Seal(key, command.Tenant, id, current.NextTurn, content), citations, reply, now);
        stream.AppendOne(turn);
        // What the user said is extracted off the reply's path, queued if and only if the turn commits.
        if (role == TurnRole.User && current.Extraction)
            await MemoryExtraction.EnqueueAsync(session, engine.Scopes,
                new ExtractMemories(command.Tenant, id, turn.Turn, command.Actor, command.Channel));
        return (turn, current);
    }
}

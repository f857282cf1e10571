using Aetherra.Application.Common;
using Aetherra.Domain.Conversations;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Conversations;

public sealed record StartConversation(string? Subject, string? Agent, string? Title, bool? Extraction);

public sealed record StartConversationResult(Guid Id, long Sequence);

public sealed class StartConversationValidator : AbstractValidator<StartConversation>
{
    public StartConversationValidator()
    {
        RuleFor(x => x.Subject).NotEmpty().MaximumLength(ConversationLimits.MaxNameLength).Must(ConversationLimits.NoControl)
            .WithMessage("'Subject' must not contain control characters.");
        RuleFor(x => x.Agent).NotEmpty().MaximumLength(ConversationLimits.MaxNameLength).Must(ConversationLimits.NoControl)
            .WithMessage("'Agent' must not contain control characters.");
        RuleFor(x => x.Title).MaximumLength(ConversationLimits.MaxTitleLength);
    }
}

public static class StartConversationHandler
{
    public static async Task<StartConversationResult> Handle(
        StartConversation body, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        var now = clock.GetUtcNow();
        await using var session = store.OpenFor(command);
        session.Events.StartStream<Conversation>(id,
            new ConversationStarted(id, body.Subject!, body.Agent!, body.Title, body.Extraction ?? true, now));
        var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Created, now, ct);
        return new StartConversationResult(id, sequence);
    }
}

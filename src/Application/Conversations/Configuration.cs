using Aetherra.Domain.Conversations;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;

namespace Aetherra.Application.Conversations;

public static class ConversationConfiguration
{
    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<ConversationStarted>("conversation.started.v1");
        opts.Events.MapEventType<TurnRecorded>("conversation.turn-recorded.v1");
        opts.Events.MapEventType<ConversationClosed>("conversation.closed.v1");

        // Inline: the next turn's number and the open/closed rule decide on this state, and a reader sees a turn
        // as soon as it is acknowledged.
        opts.Projections.Add<ConversationProjection>(ProjectionLifecycle.Inline);
        opts.Schema.For<Conversation>().Index(x => x.Subject).Index(x => x.Agent).Index(x => x.StartedAt);
    }
}

/// <summary>The Conversation snapshot, folded by the domain's own Create/Apply.</summary>
public sealed partial class ConversationProjection : SingleStreamProjection<Conversation, Guid>
{
    public static Conversation Create(ConversationStarted e) => Conversation.Create(e);
    public static Conversation Apply(TurnRecorded e, Conversation c) => c.Apply(e);
    public static Conversation Apply(ConversationClosed e, Conversation c) => c.Apply(e);
}

public static class ConversationServices
{
    public static IServiceCollection AddConversations(
        this IServiceCollection services)
    {
        services.AddSingleton<ModelChain>();
        services.AddSingleton<ReplyStreams>();
        services.AddSingleton<ConversationEngine>();
        return services;
    }

    /// <summary>Extraction runs on a durable local queue (its messages survive a restart), one at a time per node.</summary>
    public static void ConfigureMessaging(WolverineOptions opts) =>
        opts.PublishMessage<ExtractMemories>().ToLocalQueue(MemoryExtraction.Queue).UseDurableInbox().Sequential();
}

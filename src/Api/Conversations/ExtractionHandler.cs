using Aetherra.Application.Conversations;
using Wolverine.ErrorHandling;
using Wolverine.Runtime.Handlers;

namespace Aetherra.Api.Conversations;

/// <summary>The extraction queue's handler: thin, as an endpoint is; the work is the Application use case.</summary>
public static class ExtractMemoriesHandler
{
    /// <summary>A database or provider hiccup is tried again a little later; what still fails is a dead letter to replay.</summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnAnyException().RetryWithCooldown(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30));

    public static Task Handle(ExtractMemories message, ConversationEngine engine, CancellationToken ct) =>
        MemoryExtraction.RunAsync(message, engine, ct);
}

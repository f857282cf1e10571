namespace Aetherra.Domain.Ai;

public enum ProviderKind { OpenAi, Ollama }

/// <summary>One provider of the chain. Its API key is sealed with the installation's master key, never in clear.</summary>
public sealed record ProviderSettings(
    string Name, ProviderKind Kind, string BaseUrl, string Model, byte[]? SealedApiKey, int TimeoutSeconds);

/// <summary>The operator set the provider chain (order = fallback order); an empty list means no provider.</summary>
public sealed record ProvidersConfigured(IReadOnlyList<ProviderSettings> Providers, DateTimeOffset At);

/// <summary>
/// One model call, on a stream of its own (never the conversation's, which would make it hot): which provider and
/// model, whether it answered, how long it took and to its first token, the tokens it counted, and the class of
/// its failure.
/// </summary>
public sealed record CompletionRecorded(
    Guid CallId,
    Guid ConversationId,
    int Turn,
    string Provider,
    string Model,
    bool Succeeded,
    double LatencyMs,
    double? FirstTokenMs,
    int? TokensIn,
    int? TokensOut,
    string? ErrorClass,
    DateTimeOffset At);

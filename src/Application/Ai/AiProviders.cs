using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using Aetherra.Domain.Ai;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Npgsql;
using OpenAI;
using Polly;
using Polly.CircuitBreaker;

namespace Aetherra.Application.Ai;

/// <summary>A provider of the chain, ready to call: its client and its own circuit breaker.</summary>
public sealed class ConfiguredProvider(ProviderSettings settings, IChatClient client, ResiliencePipeline breaker)
{
    public ProviderSettings Settings { get; } = settings;
    public IChatClient Client { get; } = client;
    public ResiliencePipeline Breaker { get; } = breaker;
    public TimeSpan FirstTokenTimeout => TimeSpan.FromSeconds(Settings.TimeoutSeconds);
}

/// <summary>
/// Breaker options, from configuration: AETHERRA_AI_BREAKER_MIN_CALLS (default 5), AETHERRA_AI_BREAKER_FAILURE_RATIO
/// (default 0.5), AETHERRA_AI_BREAK_SECONDS (default 30). The chain itself comes from AETHERRA_AI_PROVIDERS (the JSON
/// array PUT /admin/ai/providers takes) until an operator configures it at run time.
/// </summary>
public sealed record AiSettings(int BreakerMinimumCalls, double BreakerFailureRatio, TimeSpan BreakDuration, string? ProvidersJson)
{
    public static AiSettings From(IConfiguration config)
    {
        double Number(string name, double fallback) =>
            double.TryParse(config[name], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : fallback;
        var settings = new AiSettings((int)Number("AETHERRA_AI_BREAKER_MIN_CALLS", 5), Number("AETHERRA_AI_BREAKER_FAILURE_RATIO", 0.5),
            TimeSpan.FromSeconds(Number("AETHERRA_AI_BREAK_SECONDS", 30)), config["AETHERRA_AI_PROVIDERS"]);
        if (settings.BreakerMinimumCalls < 2 || settings.BreakerFailureRatio is <= 0 or > 1 || settings.BreakDuration < TimeSpan.FromMilliseconds(500))
            throw new InvalidOperationException($"Invalid AI settings: {settings}");
        return settings;
    }
}

/// <summary>
/// The provider chain in force on this node: from the latest ai.providers-configured.v1 event when there is one,
/// else from AETHERRA_AI_PROVIDERS. A run-time change applies on the node that took it at once (other nodes pick it
/// up when they restart).
/// </summary>
public sealed class AiProviders(AiSettings settings, MasterKey master, IDocumentStore store, NpgsqlDataSource dataSource)
{
    private readonly SemaphoreSlim _loading = new(1, 1);
    private IReadOnlyList<ConfiguredProvider>? _current;

    public async Task<IReadOnlyList<ConfiguredProvider>> CurrentAsync(CancellationToken ct)
    {
        if (_current is { } current) return current;
        await _loading.WaitAsync(ct);
        try
        {
            return _current ??= Build(await StoredAsync(ct) ?? FromEnvironment());
        }
        finally
        {
            _loading.Release();
        }
    }

    public void Use(IReadOnlyList<ProviderSettings> providers) => _current = Build(providers);

    public byte[] SealApiKey(string provider, string apiKey) => master.Wrap(Encoding.UTF8.GetBytes(apiKey), Context(provider));

    private string? OpenApiKey(ProviderSettings p) =>
        p.SealedApiKey is { } sealedKey ? Encoding.UTF8.GetString(master.Unwrap(sealedKey, Context(p.Name))) : null;

    private static string Context(string provider) => $"ai-provider\u001f{provider}";

    private async Task<IReadOnlyList<ProviderSettings>?> StoredAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"select data::text from {Infrastructure.AetherraSettings.Schema}.mt_events where type = '{AiConfiguration.ProvidersConfiguredName}' order by seq_id desc limit 1");
        var json = await cmd.ExecuteScalarAsync(ct) as string;
        if (json is null) return null;
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
        return store.Options.Serializer().FromJson<ProvidersConfigured>(stream).Providers;
    }

    private IReadOnlyList<ProviderSettings> FromEnvironment()
    {
        if (string.IsNullOrWhiteSpace(settings.ProvidersJson)) return [];
        var inputs = JsonSerializer.Deserialize<List<ProviderInput>>(settings.ProvidersJson, JsonSerializerOptions.Web)
                     ?? throw new InvalidOperationException("AETHERRA_AI_PROVIDERS is not a JSON array of providers");
        var validator = new ProviderInputValidator();
        foreach (var input in inputs)
            if (validator.Validate(input) is { IsValid: false } result)
                throw new InvalidOperationException($"AETHERRA_AI_PROVIDERS: {result}");
        return inputs.Select(ToSettings).ToList();
    }

    public ProviderSettings ToSettings(ProviderInput p) => new(
        p.Name!, ProviderInputValidator.ParseKind(p.Kind!), p.BaseUrl!.TrimEnd('/'), p.Model!,
        string.IsNullOrEmpty(p.ApiKey) ? null : SealApiKey(p.Name!, p.ApiKey), p.TimeoutSeconds ?? 30);

    private IReadOnlyList<ConfiguredProvider> Build(IReadOnlyList<ProviderSettings> providers) =>
        providers.Select(p => new ConfiguredProvider(p, Client(p), Breaker())).ToList();

    private IChatClient Client(ProviderSettings p) => p.Kind switch
    {
        // No retries inside the client: the chain moves on to the next provider instead, within the first-token timeout.
        ProviderKind.OpenAi => new OpenAI.Chat.ChatClient(p.Model, new ApiKeyCredential(OpenApiKey(p) ?? "unused"),
            new OpenAIClientOptions { Endpoint = new Uri(p.BaseUrl), RetryPolicy = new ClientRetryPolicy(0), NetworkTimeout = TimeSpan.FromMinutes(5) })
            .AsIChatClient(),
        ProviderKind.Ollama => new OllamaSharp.OllamaApiClient(new Uri(p.BaseUrl), p.Model),
        _ => throw new InvalidOperationException($"unknown provider kind {p.Kind}"),
    };

    private ResiliencePipeline Breaker() => new ResiliencePipelineBuilder()
        .AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = settings.BreakerFailureRatio,
            MinimumThroughput = settings.BreakerMinimumCalls,
            SamplingDuration = TimeSpan.FromSeconds(Math.Max(30, settings.BreakDuration.TotalSeconds)),
            BreakDuration = settings.BreakDuration,
            ShouldHandle = new PredicateBuilder().Handle<ModelCallFailed>(),
        })
        .Build();
}

/// <summary>A provider failed before its first token (thrown inside its breaker, so the breaker counts it).</summary>
public sealed class ModelCallFailed(string errorClass, string message) : Exception(message)
{
    public string ErrorClass { get; } = errorClass;
}

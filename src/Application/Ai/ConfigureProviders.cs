using Aetherra.Application.Common;
using Aetherra.Domain.Ai;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Ai;

public sealed record ProviderInput(string? Name, string? Kind, string? BaseUrl, string? Model, string? ApiKey, int? TimeoutSeconds);

public sealed record ConfigureProviders(IReadOnlyList<ProviderInput>? Providers);

/// <summary>A provider as shown: never its API key, only whether it has one.</summary>
public sealed record ProviderView(string Name, string Kind, string BaseUrl, string Model, int TimeoutSeconds, bool HasApiKey);

public sealed record ProvidersView(IReadOnlyList<ProviderView> Providers, long? Sequence);

public sealed class ProviderInputValidator : AbstractValidator<ProviderInput>
{
    public ProviderInputValidator()
    {
        RuleFor(x => x.Name).NotEmpty().MaximumLength(100).Matches("^[A-Za-z0-9._-]+$")
            .WithMessage("'Name' is letters, digits, '.', '_' or '-'.");
        RuleFor(x => x.Kind).NotEmpty().Must(k => k is "openai" or "ollama").WithMessage("'Kind' must be openai or ollama.");
        RuleFor(x => x.BaseUrl).NotEmpty().MaximumLength(2000)
            .Must(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.UserInfo.Length == 0)
            .WithMessage("'Base Url' must be an absolute http or https URL without credentials.");
        RuleFor(x => x.Model).NotEmpty().MaximumLength(200).Must(m => m is null || !m.Any(char.IsControl))
            .WithMessage("'Model' must not contain control characters.");
        RuleFor(x => x.ApiKey).MaximumLength(4000).Must(k => k is null || !k.Any(char.IsControl))
            .WithMessage("'Api Key' must not contain control characters.");
        RuleFor(x => x.TimeoutSeconds).InclusiveBetween(1, 600);
    }

    public static ProviderKind ParseKind(string kind) => kind == "ollama" ? ProviderKind.Ollama : ProviderKind.OpenAi;
}

public sealed class ConfigureProvidersValidator : AbstractValidator<ConfigureProviders>
{
    public ConfigureProvidersValidator()
    {
        RuleFor(x => x.Providers).NotNull().Must(p => p is null || p.Count <= 10).WithMessage("At most 10 providers.")
            .Must(p => p is null || p.Select(x => x.Name).Distinct().Count() == p.Count).WithMessage("Provider names must be distinct.");
        RuleForEach(x => x.Providers).SetValidator(new ProviderInputValidator());
    }
}

public static class ConfigureProvidersHandler
{
    /// <summary>Records the chain (API keys sealed with the master key) and puts it in force on this node.</summary>
    public static async Task<ProvidersView> Handle(
        ConfigureProviders body, CommandContext command, IDocumentStore store, AiProviders providers, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var settings = body.Providers!.Select(providers.ToSettings).ToList();
        await using var session = store.OpenFor(command);
        session.Events.StartStream(Guid.CreateVersion7(), new ProvidersConfigured(settings, now));
        var sequence = await session.CommitAsync(command, "ai-providers", Outcome.Done, now, ct);
        providers.Use(settings);
        return View(settings, sequence);
    }

    public static async Task<ProvidersView> Read(AiProviders providers, CancellationToken ct) =>
        View((await providers.CurrentAsync(ct)).Select(p => p.Settings).ToList(), null);

    private static ProvidersView View(IReadOnlyList<ProviderSettings> settings, long? sequence) => new(
        settings.Select(p => new ProviderView(p.Name, p.Kind == ProviderKind.Ollama ? "ollama" : "openai", p.BaseUrl, p.Model,
            p.TimeoutSeconds, p.SealedApiKey is not null)).ToList(), sequence);
}

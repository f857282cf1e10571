using System.Text;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Plugins;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Plugins.Hub;

/// <summary>
/// Another instance as a source of plugins: <c>url</c> is its catalogue (GET /hub/catalogue there),
/// <c>publicKey</c> the key its catalogue must be signed with (GET /audit/public-key there), and <c>accessKey</c>
/// an API key of that instance with <c>plugins:read</c>, which chooses whose catalogue (its tenant) is read.
/// </summary>
public sealed record AddHubSource(string? Name, string? Url, string? PublicKey, string? AccessKey);

public sealed record AddHubSourceResult(Guid Id, string PublicKeyId, long Sequence);

public sealed class AddHubSourceValidator : AbstractValidator<AddHubSource>
{
    public AddHubSourceValidator()
    {
        RuleFor(x => x.Name).NotEmpty().MaximumLength(PluginLimits.MaxNameLength);
        RuleFor(x => x.Url).NotEmpty().MaximumLength(PluginLimits.MaxEndpointLength)
            .Must(e => Uri.TryCreate(e, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)
                       && u.UserInfo.Length == 0 && u.Fragment.Length == 0)
            .WithMessage("'Url' must be an absolute http or https URL without credentials or fragment.");
        RuleFor(x => x.PublicKey).NotEmpty().Must(k => PublisherKeys.Decode(k) is not null)
            .WithMessage("'Public Key' must be the publishing instance's raw Ed25519 public key (32 bytes), base64: its GET /audit/public-key.");
        RuleFor(x => x.AccessKey).MaximumLength(512).Matches("^[\\x21-\\x7e]+$").When(x => x.AccessKey is not null)
            .WithMessage("'Access Key' must be an API key of the publishing instance (printable ASCII, at most 512 characters).");
    }
}

public static class AddHubSourceHandler
{
    /// <summary>The access key's sealing is bound to the tenant and the source, so a sealed key cannot be moved to another.</summary>
    public static string AccessKeyContext(string tenant, Guid source) => $"aetherra.hub-access-key.v1\n{tenant}\n{source}";

    /// <summary>Adds the source; its host must be on the same allowlist as plugin endpoints (the server fetches from it).</summary>
    public static async Task<AddHubSourceResult> Handle(
        AddHubSource request, CommandContext command, IDocumentStore store, PluginSettings settings, MasterKey master, TimeProvider clock,
        CancellationToken ct)
    {
        if (settings.Hosts.Refusal(request.Url!) is { } refusal) throw new DomainRuleViolated(refusal.Replace("the endpoint", "the source", StringComparison.Ordinal));
        var publicKey = PublisherKeys.Decode(request.PublicKey)!;
        var id = Guid.CreateVersion7();
        var wrapped = request.AccessKey is { } key
            ? Convert.ToBase64String(master.Wrap(Encoding.UTF8.GetBytes(key), AccessKeyContext(command.Tenant, id)))
            : null;
        var now = clock.GetUtcNow();
        await using var session = store.OpenFor(command);
        session.Events.StartStream<HubSource>(id, new HubSourceAdded(id, command.Tenant, request.Name!, request.Url!,
            Convert.ToBase64String(publicKey), Ed25519Signatures.KeyId(publicKey), wrapped, now));
        return new AddHubSourceResult(id, Ed25519Signatures.KeyId(publicKey), await session.CommitAsync(command, id.ToString(), Outcome.Created, now, ct));
    }
}

using System.Text.RegularExpressions;
using Aetherra.Application.Common;
using Aetherra.Infrastructure.Keys;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Keys;

public static class KeyActions
{
    public const string Create = "key.create";
    public const string Revoke = "key.revoke";
}

public sealed record CreateApiKey(string? Name, string? Tenant, IReadOnlyList<string>? Scopes);

public sealed record CreatedApiKey(Guid Id, string Key, string Tenant, IReadOnlyList<string> Scopes, long Sequence);

public sealed partial class CreateApiKeyValidator : AbstractValidator<CreateApiKey>
{
    public CreateApiKeyValidator()
    {
        RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
        RuleFor(x => x.Tenant).NotEmpty().Matches(TenantPattern())
            .WithMessage("'Tenant' must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit.");
        RuleFor(x => x.Scopes).NotEmpty();
        RuleForEach(x => x.Scopes).Must(s => Keys.Scopes.All.Contains(s))
            .WithMessage((_, s) => $"'{s}' is not a scope; scopes are: {string.Join(' ', Keys.Scopes.All)}.");
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex TenantPattern();
}

/// <summary>
/// Keys are operator business: a key with <c>admin</c> issues keys for any tenant (that is how a tenant is
/// onboarded) and revokes any key. Keys live in the key table, not in events; each change is audited.
/// </summary>
public static class ApiKeyHandlers
{
    public static async Task<CreatedApiKey> Create(
        CreateApiKey request, CommandContext command, ApiKeyStore keys, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var scopes = request.Scopes!.Distinct().ToList();
        var (key, secret) = await keys.CreateAsync(request.Name!, request.Tenant!, scopes, ct);
        await using var session = store.OpenFor(command);
        var sequence = await session.CommitAsync(command, key.Id.ToString(), 201, clock.GetUtcNow(), ct);
        return new CreatedApiKey(key.Id, secret, key.Tenant, key.Scopes, sequence);
    }

    public static async Task<long> Revoke(
        Guid id, CommandContext command, ApiKeyStore keys, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        if (!await keys.RevokeAsync(id, ct)) throw new NotFound("key");
        await using var session = store.OpenFor(command);
        return await session.CommitAsync(command, id.ToString(), 200, clock.GetUtcNow(), ct);
    }
}

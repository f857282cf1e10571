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

public sealed record CreateApiKey(string? Name, string? Tenant, IReadOnlyList<string>? Scopes, RateLimitRequest? RateLimit = null);

public sealed record CreatedApiKey(Guid Id, string Key, string Tenant, IReadOnlyList<string> Scopes, KeyRateLimit? RateLimit, long Sequence);

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
        When(x => x.RateLimit is not null, () =>
        {
            RuleFor(x => x.RateLimit!.PermitsPerSecond).NotNull().GreaterThan(0).LessThanOrEqualTo(RateLimitSettings.MaxPermitsPerSecond)
                .OverridePropertyName("rateLimit.permitsPerSecond");
            RuleFor(x => x.RateLimit!.Burst).NotNull().InclusiveBetween(1, RateLimitSettings.MaxBurst)
                .OverridePropertyName("rateLimit.burst");
        });
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex TenantPattern();
}

/// <summary>
/// Keys live in the key table, not in events; each change is audited. Two kinds of administrator issue them
/// (docs/security.md): the operator (scope <c>operator</c>) for any tenant and with any scope; a tenant's
/// administrator (<c>admin</c>) only for its own tenant, never <c>operator</c>, and it revokes only its own
/// tenant's keys that do not hold <c>operator</c> (any other key id is 404, as if it did not exist).
/// </summary>
public static class ApiKeyHandlers
{
    public static async Task<CreatedApiKey> Create(
        CreateApiKey request, Caller caller, CommandContext command, ApiKeyStore keys, IDocumentStore store, TimeProvider clock,
        CancellationToken ct)
    {
        var scopes = request.Scopes!.Distinct().ToList();
        KeyAuthority.EnsureMayIssue(caller, request.Tenant!, scopes);
        var limit = request.RateLimit is { PermitsPerSecond: { } permits, Burst: { } burst } ? new KeyRateLimit(permits, burst) : null;
        var (key, secret) = await keys.CreateAsync(request.Name!, request.Tenant!, scopes, ct, limit);
        await using var session = store.OpenFor(command);
        var sequence = await session.CommitAsync(command, key.Id.ToString(), Outcome.Created, clock.GetUtcNow(), ct);
        return new CreatedApiKey(key.Id, secret, key.Tenant, key.Scopes, key.RateLimit, sequence);
    }

    public static async Task<long> Revoke(
        Guid id, Caller caller, CommandContext command, ApiKeyStore keys, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var revoked = caller.IsOperator
            ? await keys.RevokeAsync(id, tenant: null, sparingOperators: false, ct)
            : await keys.RevokeAsync(id, caller.Tenant, sparingOperators: true, ct);
        if (!revoked) throw new NotFound("key");
        await using var session = store.OpenFor(command);
        return await session.CommitAsync(command, id.ToString(), Outcome.Done, clock.GetUtcNow(), ct);
    }
}

/// <summary>Who calls, as far as key administration cares: the key's tenant and whether it holds <c>operator</c>.</summary>
public sealed record Caller(string Tenant, bool IsOperator);

/// <summary>The rules of who may issue which key, pure.</summary>
public static class KeyAuthority
{
    public static void EnsureMayIssue(Caller caller, string tenant, IReadOnlyList<string> scopes)
    {
        if (caller.IsOperator) return;
        if (tenant != caller.Tenant)
            throw new Forbidden("Only the operator issues keys for another tenant: a tenant's administrator issues keys for its own tenant.");
        if (scopes.Contains(Scopes.Operator))
            throw new Forbidden("Only the operator grants the 'operator' scope.");
    }
}

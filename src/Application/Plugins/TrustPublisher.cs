using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Plugins;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Plugins;

public sealed record TrustPublisher(string? Name, string? PublicKey);

public sealed record TrustPublisherResult(string KeyId, long Sequence);

public sealed class TrustPublisherValidator : AbstractValidator<TrustPublisher>
{
    public TrustPublisherValidator()
    {
        RuleFor(x => x.Name).NotEmpty().MaximumLength(PluginLimits.MaxNameLength);
        RuleFor(x => x.PublicKey).NotEmpty().Must(BeAPublicKey)
            .WithMessage("'Public Key' must be a raw Ed25519 public key (32 bytes), base64.");
    }

    private static bool BeAPublicKey(string? text) => PublisherKeys.Decode(text) is not null;
}

public static class PublisherKeys
{
    public static byte[]? Decode(string? base64)
    {
        if (string.IsNullOrWhiteSpace(base64)) return null;
        var bytes = new byte[Ed25519Signatures.PublicKeyBytes + 3];
        return Convert.TryFromBase64String(base64.Trim(), bytes, out var n) && n == Ed25519Signatures.PublicKeyBytes
               && Ed25519Signatures.IsPublicKey(bytes[..n]) ? bytes[..n] : null;
    }
}

/// <summary>
/// Trusts a publisher key in the caller's tenant. The key id is derived from the key, so trusting the same key
/// twice is refused (422), and a revoked key stays revoked: revocation is a statement about the key, not a pause.
/// </summary>
public static class TrustPublisherHandler
{
    public static async Task<TrustPublisherResult> Handle(
        TrustPublisher request, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var publicKey = PublisherKeys.Decode(request.PublicKey)!;
        var keyId = Ed25519Signatures.KeyId(publicKey);
        var streamId = PluginStreams.PublisherKey(command.Tenant, keyId);
        await using var session = store.OpenFor(command);
        var existing = await session.LoadAsync<PublisherKey>(streamId, ct);
        if (existing is not null)
            throw new DomainRuleViolated(existing.Revoked
                ? $"publisher key {keyId} was revoked; a revoked key is never trusted again"
                : $"publisher key {keyId} is already trusted");
        var now = clock.GetUtcNow();
        session.Events.StartStream<PublisherKey>(streamId,
            new PublisherKeyTrusted(streamId, keyId, request.Name!, Convert.ToBase64String(publicKey), now));
        try
        {
            return new TrustPublisherResult(keyId, await session.CommitAsync(command, keyId, Outcome.Created, now, ct));
        }
        catch (Exception e) when (ConflictPolicy.IsTaken(e))
        {
            throw new DomainRuleViolated($"publisher key {keyId} is already trusted");
        }
    }
}

using System.Security.Cryptography;
using System.Text;
using Aetherra.Application.Common;
using Aetherra.Application.Plugins;
using Aetherra.Domain.Scripts;
using Aetherra.Infrastructure.Keys;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Scripts;

public sealed record PublishScript(string? Name, string? Source, string? PublisherKeyId, string? Signature);

public sealed record PublishScriptResult(Guid Id, string Name, int Version, long Sequence);

public sealed class PublishScriptValidator : AbstractValidator<PublishScript>
{
    public PublishScriptValidator()
    {
        RuleFor(x => x.Name).NotEmpty().Matches(ScriptLimits.NamePattern)
            .WithMessage("'Name' must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter.");
        RuleFor(x => x.Source).NotEmpty().MaximumLength(ScriptParser.MaxSourceLength);
        RuleFor(x => x.PublisherKeyId).NotEmpty().Matches("^[0-9a-f]{32}$")
            .WithMessage("'Publisher Key Id' must be the 32 lowercase hex characters POST /trust/publishers answered.");
        RuleFor(x => x.Signature).NotEmpty().Must(s => Signatures.Decode(s) is not null)
            .WithMessage("'Signature' must be an Ed25519 signature (64 bytes), base64.");
    }
}

/// <summary>
/// Publishes the next version of a script, which runs as the publishing key. Refused (422, audited, nothing
/// appended) unless it parses, passes its checks against that key's scopes, and is signed by a trusted publisher
/// key; then its schedules are armed (the version in each scheduled message retires the previous version's).
/// </summary>
public static class PublishScriptHandler
{
    public static async Task<PublishScriptResult> Handle(
        PublishScript body, CommandContext command, IDocumentStore store, ApiKeyStore keys, ScriptScheduler scheduler, TimeProvider clock,
        CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var program = await ScriptVerification.VerifyAsync(session, keys, command.Tenant, command.Actor, body.Source!, body.PublisherKeyId!,
            body.Signature!, ct);
        var id = ScriptStreams.Script(command.Tenant, body.Name!);
        var stream = await session.Events.FetchForWriting<Script>(id, ct);
        var now = clock.GetUtcNow();
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body.Source!)));
        var published = ScriptDecisions.Publish(stream.Aggregate, id, body.Name!, program, body.Source!, sha, body.PublisherKeyId!,
            Convert.ToBase64String(Signatures.Decode(body.Signature)!), command.Actor, now);
        stream.AppendOne(published);
        long sequence;
        try
        {
            sequence = await session.CommitAsync(command, id.ToString(), published.Version == 1 ? Outcome.Created : Outcome.Done, now, ct);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw new Domain.DomainRuleViolated($"script '{body.Name}' was published concurrently; retry");
        }
        await scheduler.ArmAsync(command.Tenant, id, published.Version, published.Schedules, now, ct);
        return new PublishScriptResult(id, body.Name!, published.Version, sequence);
    }
}

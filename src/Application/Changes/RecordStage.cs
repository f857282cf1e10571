using System.Text.RegularExpressions;
using Aetherra.Application.Common;
using Aetherra.Application.Plugins;
using Aetherra.Domain;
using Aetherra.Domain.Changes;
using Aetherra.Domain.Plugins;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Changes;

/// <summary>A stage runner's verdict; <c>evidence</c> is its report (a log, a summary), hashed into what it signs.</summary>
public sealed record RecordStage(string? Stage, bool? Passed, string? Evidence, string? RunnerKeyId, string? Signature);

public sealed record RecordStageResult(Guid Id, string Stage, bool Passed, string EvidenceSha256, long Sequence);

public sealed partial class RecordStageValidator : AbstractValidator<RecordStage>
{
    public RecordStageValidator()
    {
        RuleFor(x => x.Stage).NotEmpty().Must(s => s is null || ChangeRules.RequiredStages.Contains(s))
            .WithMessage($"'Stage' must be one of {string.Join(", ", ChangeRules.RequiredStages)}.");
        RuleFor(x => x.Passed).NotNull();
        RuleFor(x => x.Evidence).NotNull().MaximumLength(ChangeLimits.MaxEvidenceLength);
        RuleFor(x => x.RunnerKeyId).NotEmpty().Must(k => k is null || KeyId().IsMatch(k)).WithMessage("'Runner Key Id' must be a key id (32 lowercase hex digits).");
        RuleFor(x => x.Signature).NotEmpty().Must(s => s is null || ChangeSignatures.TryBase64(s)?.Length == 64)
            .WithMessage("'Signature' must be a base64 Ed25519 signature (64 bytes).");
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex KeyId();
}

public static class RecordStageHandler
{
    /// <summary>
    /// Records a stage's verdict once its signature verifies with a runner key this tenant's trust store holds and has
    /// not revoked; anything else is refused (422) and appends nothing. A later verdict of the same stage replaces it.
    /// </summary>
    public static async Task<RecordStageResult> Handle(Guid id, RecordStage body, CommandContext command, IDocumentStore store, TimeProvider clock,
        CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var stream = await session.Events.FetchForWriting<Change>(id, ct);
        var change = stream.Aggregate ?? throw new NotFound("change");
        var key = await session.LoadAsync<PublisherKey>(PluginStreams.PublisherKey(command.Tenant, body.RunnerKeyId!), ct);
        if (key is null) throw new DomainRuleViolated($"runner key {body.RunnerKeyId} is not in this tenant's trust store");
        if (key.Revoked) throw new DomainRuleViolated($"runner key {body.RunnerKeyId} was revoked");
        var evidenceSha = ChangeSignatures.Sha256Hex(body.Evidence!);
        if (!ChangeSignatures.VerifyStage(Convert.FromBase64String(key.PublicKey), id, change.PatchSha256, body.Stage!, body.Passed!.Value,
                evidenceSha, body.Signature!))
            throw new DomainRuleViolated(
                $"the signature does not verify with runner key {body.RunnerKeyId} over {{changeId, patchSha256, stage, passed, evidenceSha256}}");
        var now = clock.GetUtcNow();
        stream.AppendOne(ChangeRules.RecordStage(change, body.Stage!, body.Passed.Value, body.Evidence!, evidenceSha, body.RunnerKeyId!,
            body.Signature!, now));
        try
        {
            return new RecordStageResult(id, body.Stage!, body.Passed.Value, evidenceSha, await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct));
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw new VersionConflict(change.Version);
        }
    }
}

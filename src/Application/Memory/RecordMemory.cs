using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Memory;

public sealed record RecordMemory(
    string? Content, string? Subject, string? Agent, string? Session, string? Kind, IReadOnlyList<string>? Tags,
    double? Importance, string? Classification, DateTimeOffset? OccurredAt, DateTimeOffset? ExpiresAt, string? Source,
    IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Metadata = null)
{
    /// <summary>The domain's input, once the validator has passed the command.</summary>
    public MemoryToRecord ToRecord() => new(
        Content!, Subject!, Agent!, Session, Kind!, Tags, Importance, Classification, OccurredAt, ExpiresAt, Source, Metadata);
}

public sealed record RecordMemoryResult(Guid Id, int Version, string ContentHash, bool Deduplicated, long Sequence)
{
    /// <summary>A new memory, or the one that already held the content.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Outcome Outcome => Deduplicated ? Outcome.Done : Outcome.Created;
}

public sealed class RecordMemoryValidator : AbstractValidator<RecordMemory>
{
    public RecordMemoryValidator()
    {
        RuleFor(x => x.Content).Cascade(CascadeMode.Stop).NotEmpty().Must(c => !string.IsNullOrWhiteSpace(c)).WithMessage("'Content' must not be blank.")
            .MaximumLength(MemoryLimits.MaxContentLength);
        RuleFor(x => x.Subject).NotEmpty().MaximumLength(MemoryLimits.MaxNameLength).Must(NoControlCharacters)
            .WithMessage("'Subject' must not contain control characters.");
        RuleFor(x => x.Agent).NotEmpty().MaximumLength(MemoryLimits.MaxNameLength).Must(NoControlCharacters)
            .WithMessage("'Agent' must not contain control characters.");
        RuleFor(x => x.Session).MaximumLength(MemoryLimits.MaxNameLength);
        RuleFor(x => x.Kind).NotEmpty().Must(k => Enum.TryParse<MemoryKind>(k, true, out _) && !int.TryParse(k, out _))
            .WithMessage("'Kind' must be one of fact, preference, episode, instruction, observation.");
        RuleFor(x => x.Tags).Must(t => t is null || t.Count <= MemoryLimits.MaxTags)
            .WithMessage($"At most {MemoryLimits.MaxTags} tags.");
        RuleForEach(x => x.Tags).NotEmpty().MaximumLength(MemoryLimits.MaxTagLength);
        RuleFor(x => x.Importance).InclusiveBetween(0, 1);
        RuleFor(x => x.Classification)
            .Must(c => c is null || (Enum.TryParse<Classification>(c, true, out _) && !int.TryParse(c, out _)))
            .WithMessage("'Classification' must be one of public, internal, confidential.");
        RuleFor(x => x.ExpiresAt).GreaterThan(x => x.OccurredAt)
            .When(x => x.ExpiresAt is not null && x.OccurredAt is not null)
            .WithMessage("'Expires At' must be after 'Occurred At'.");
        RuleFor(x => x.Source).MaximumLength(MemoryLimits.MaxSourceLength);
        RuleFor(x => x.Metadata).Custom((metadata, context) =>
        {
            foreach (var (path, message) in MemoryMetadata.Problems(metadata, "Metadata"))
                context.AddFailure(path, message);
        });
    }

    private static bool NoControlCharacters(string? s) => s is null || !s.Any(char.IsControl);
}

public static class RecordMemoryHandler
{
    /// <summary>
    /// Records one memory. Concurrent writes of a tenant are taken together into one transaction
    /// (<see cref="MemoryWriteBatch"/>; AETHERRA_WRITE_BATCH=off: each by itself); a write alone in its tenant's lane
    /// takes the per-write path, <see cref="AloneAsync"/>.
    /// </summary>
    /// <param name="log">Logs each batch's size and outcome at debug (AETHERRA_LOG_DEBUG=Aetherra.Application.Memory), when enabled.</param>
    public static Task<RecordMemoryResult> Handle(
        RecordMemory memory, CommandContext command, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct,
        ILogger? log = null) =>
        Infrastructure.MeasurementSwitches.WriteOneByOne
            ? AloneAsync(memory.ToRecord(), command, store, keys, clock, ct)
            : MemoryWriteBatch.WriteAsync(new PendingWrite(memory.ToRecord(), command, ct), store, keys, clock,
                p => AloneAsync(p.Item, p.Command, store, keys, clock, p.Cancellation), log);

    /// <summary>The per-write path: one transaction for this write alone.</summary>
    public static async Task<RecordMemoryResult> AloneAsync(
        MemoryToRecord memory, CommandContext command, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct)
    {
        var (results, sequence) = await MemoryWriter.RecordAsync(
            [memory], command, store, keys, clock, r => r[0].Deduplicated ? Outcome.Done : Outcome.Created, ct);
        var result = results[0];
        return new RecordMemoryResult(result.Id, result.Version, result.ContentHash, result.Deduplicated, sequence);
    }
}

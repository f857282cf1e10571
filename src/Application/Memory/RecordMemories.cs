using Aetherra.Application.Common;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Memory;

public sealed record RecordMemories(IReadOnlyList<RecordMemory>? Memories);

public sealed record BatchItemResult(Guid Id, bool Deduplicated);

public sealed record RecordMemoriesResult(IReadOnlyList<BatchItemResult> Results, long Sequence);

public sealed class RecordMemoriesValidator : AbstractValidator<RecordMemories>
{
    public RecordMemoriesValidator()
    {
        RuleFor(x => x.Memories).NotEmpty()
            .Must(m => m is null || m.Count <= MemoryLimits.MaxBatch)
            .WithMessage($"At most {MemoryLimits.MaxBatch} memories per batch.");
        RuleForEach(x => x.Memories).NotNull().SetValidator(new RecordMemoryValidator());
    }
}

public static class RecordMemoriesHandler
{
    /// <summary>One transaction for the whole batch: all of it is recorded, or none of it.</summary>
    public static async Task<RecordMemoriesResult> Handle(
        RecordMemories batch, CommandContext command, IDocumentStore store, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct)
    {
        var (results, sequence) = await MemoryWriter.RecordAsync(
            batch.Memories!.Select(m => m.ToRecord()).ToList(), command, store, keys, clock, _ => Outcome.Done, ct);
        return new RecordMemoriesResult(results.Select(r => new BatchItemResult(r.Id, r.Deduplicated)).ToList(), sequence);
    }
}

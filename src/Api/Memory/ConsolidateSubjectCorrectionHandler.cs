using Aetherra.Application.Common;
using Aetherra.Application.Memory;
using Aetherra.Application.Recall;

namespace Aetherra.Api.Memory;

/// <summary>The consolidation correction's handler: thin, as POST /memories/consolidate is; the job is the use case's.</summary>
public static class ConsolidateSubjectCorrectionHandler
{
    public static async Task<ConsolidationStarted> Handle(ConsolidateSubjectCorrection message, ConsolidateMemories consolidation, CancellationToken ct) =>
        new(await consolidation.StartAsync(new ConsolidateMemoriesRequest(message.Subject, null, null),
            new CommandContext(message.Actor, message.Tenant, Guid.CreateVersion7(), MemoryActions.Consolidate), ct));
}

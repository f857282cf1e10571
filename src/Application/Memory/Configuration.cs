using Aetherra.Domain.Memory;
using JasperFx.Events.Projections;
using Marten;
using Marten.Schema.Indexing.Unique;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

public static class MemoryConfiguration
{
    public const string DedupIndex = "mt_doc_memory_uidx_dedup";

    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<MemoryRecorded>("memory.recorded.v1");
        opts.Events.MapEventType<MemoryRevised>("memory.revised.v1");
        opts.Events.MapEventType<MemoryForgotten>("memory.forgotten.v1");
        opts.Events.MapEventType<SubjectForgotten>("subject.forgotten.v1");
        opts.Events.MapEventType<MemoryReinforced>("memory.reinforced.v1");
        opts.Events.MapEventType<MemorySuperseded>("memory.superseded.v1");
        opts.Events.MapEventType<MemoriesConsolidated>("memory.consolidated.v1");

        // Inline: revise and forget decide on this state, and reads see a write as soon as it commits.
        opts.Projections.Add<MemoryProjection>(ProjectionLifecycle.Inline);
        opts.Schema.For<MemoryState>()
            .Index(x => x.DedupKey, index =>
            {
                index.Name = DedupIndex;
                index.IsUnique = true;
                index.TenancyScope = TenancyScope.PerTenant;
            })
            .Index(x => x.Subject);
    }
}

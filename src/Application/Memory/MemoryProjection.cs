using Aetherra.Domain.Memory;
using Marten.Events.Aggregation;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

/// <summary>The Memory snapshot, folded by the domain's own Create/Apply (Domain stays free of Marten).</summary>
public sealed partial class MemoryProjection : SingleStreamProjection<MemoryState, Guid>
{
    public static MemoryState Create(MemoryRecorded e) => MemoryState.Create(e);
    public static MemoryState Apply(MemoryRevised e, MemoryState memory) => memory.Apply(e);
    public static MemoryState Apply(MemoryForgotten e, MemoryState memory) => memory.Apply(e);
    public static MemoryState Apply(MemoryReinforced e, MemoryState memory) => memory.Apply(e);
    public static MemoryState Apply(MemorySuperseded e, MemoryState memory) => memory.Apply(e);
    public static MemoryState Apply(MemoriesConsolidated e, MemoryState memory) => memory.Apply(e);
}

using Aetherra.Domain.Operations;
using Marten;

namespace Aetherra.Application.Operations;

public static class OperationsConfiguration
{
    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<ProjectionEventSkipped>("projection.event-skipped.v1");
        opts.Events.MapEventType<DeadLetterRetried>("projection.dead-letter-retried.v1");
        opts.Events.MapEventType<DeadLetterSkipped>("projection.dead-letter-skipped.v1");
    }
}

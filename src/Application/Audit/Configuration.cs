using Aetherra.Domain.Audit;
using JasperFx.Events.Projections;
using Marten;

namespace Aetherra.Application.Audit;

public static class Configuration
{
    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<AuditRecorded>("audit.recorded.v1");
        opts.Projections.Add<AuditIndexProjection>(ProjectionLifecycle.Inline);
        opts.Schema.For<AuditEntry>()
            .Index(x => x.Sequence)
            .Index(x => x.Actor)
            .Index(x => x.Action)
            .Index(x => x.Target);
    }
}

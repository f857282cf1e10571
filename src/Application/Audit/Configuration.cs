using Aetherra.Application.Audit.Log;
using Aetherra.Domain.Audit;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.AuditLog;
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

        opts.Storage.ExtendedSchemaObjects.AddRange(AuditLogSchema.Tables(opts.DatabaseSchemaName));
        // A rebuild starts the tree from nothing and must reach the same roots; checkpoints, being published
        // statements, stay (verification then proves the rebuilt tree consistent with them).
        var tables = AuditLogSchema.In(opts.DatabaseSchemaName);
        void Teardown(AsyncOptions o)
        {
            o.DeleteDataInTableOnTeardown(tables.Leaves);
            o.DeleteDataInTableOnTeardown(tables.Nodes);
        }
        // The log reads the rows itself and needs only each page's ceiling: the daemon loads no event for it
        // (AuditLogSource). AETHERRA_AUDIT_LOG_EVENTS=load brings back the projection that gets every event.
        opts.Events.MapEventType<NoStoredEvent>(NoStoredEvent.StoredName);
        if (MeasurementSwitches.AuditLogLoadsEvents)
            opts.Projections.Add(new AuditLogProjection(), ProjectionLifecycle.Async, AuditLogProjection.Name, Teardown);
        else
            opts.Projections.Add(new AuditLogSource(), ProjectionLifecycle.Async, Teardown);
    }
}

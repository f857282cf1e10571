using Aetherra.Application.Audit.Log;
using Aetherra.Application.Recall;
using Aetherra.Application.Scripts;
using Aetherra.Domain.Scripts;
using JasperFx.Events.Projections;
using Marten;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// What the async daemon loads for each async read model: only the event types it handles, filtered in SQL, so that
/// no shard deserialises every event of the store (docs/benchmarks.md). The Merkle log needs no event at all (only
/// each page's ceiling) and the script triggers only the scripts' own events.
/// </summary>
public sealed class DaemonEventFiltersTests(AetherraFixture fx)
{
    [Fact]
    public void every_async_projection_reads_only_the_event_types_it_handles()
    {
        var options = ((DocumentStore)fx.Host.Services.GetRequiredService<IDocumentStore>()).Options;
        var async = options.Projections.All.Where(p => p.Lifecycle == ProjectionLifecycle.Async).ToList();
        Assert.Contains(async, p => p.Name == "AuditLog");
        foreach (var projection in async)
        {
            var filter = Assert.IsAssignableFrom<EventFilterable>(projection);
            Assert.True(filter.IncludedEventTypes.Count > 0, $"{projection.Name} reads every event of the store");
        }
        Assert.Equal(RecallProjection.HandledTypes.OrderBy(t => t.Name),
            ((EventFilterable)async.Single(p => p.Name == "RecallEntry")).IncludedEventTypes.Distinct().OrderBy(t => t.Name));
        var log = Assert.IsType<AuditLogSource>(async.Single(p => p.Name == "AuditLog"));
        Assert.Equal([typeof(NoStoredEvent)], log.IncludedEventTypes);
        Assert.Equal(["SelfSnapshotTaken"], async.OfType<EventFilterable>().Where(p => ((ProjectionBase)p).Name == "SelfModel")
            .SelectMany(p => p.IncludedEventTypes).Select(t => t.Name).Distinct());
    }

    [Fact]
    public void the_script_triggers_load_only_the_scripts_own_events()
    {
        var triggers = fx.Host.Services.GetRequiredService<ScriptTriggers>();
        Assert.Equal(new[] { typeof(ScriptPublished), typeof(ScriptRetired) }.OrderBy(t => t.Name), triggers.IncludedEventTypes.OrderBy(t => t.Name));
    }
}

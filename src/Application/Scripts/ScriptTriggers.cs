using System.Text.Json;
using Aetherra.Domain.Scripts;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Subscriptions;

namespace Aetherra.Application.Scripts;

/// <summary>
/// Event triggers: a Marten subscription run by the async daemon (on one node of the cluster, from its own stored
/// position, so no event is missed across restarts and none is seen twice in normal running). For each appended
/// event whose type some script of its tenant listens for, it queues one run per such script. Events written by a
/// script's own run (their correlation id names the run) trigger nothing, so a script cannot trigger itself forever.
/// </summary>
public sealed class ScriptTriggers(ScriptScheduler scheduler) : SubscriptionBase
{
    public const string SubscriptionName = "ScriptTriggers";

    public override async Task<IChangeListener> ProcessEventsAsync(
        EventRange page, ISubscriptionController controller, IDocumentOperations operations, CancellationToken cancellationToken)
    {
        var candidates = page.Events
            .Where(e => ScriptDecisions.CanTrigger(e.EventTypeName) && !(e.CorrelationId?.StartsWith("script-run:", StringComparison.Ordinal) ?? false))
            .ToList();
        if (candidates.Count == 0) return NullChangeListener.Instance;

        foreach (var tenant in candidates.GroupBy(e => e.TenantId))
        {
            await using var query = operations.DocumentStore.QuerySession(tenant.Key);
            // A tenant has a handful of scripts: reading them all is one small query per page of events.
            var scripts = await query.Query<Script>().ToListAsync(cancellationToken);
            foreach (var e in tenant)
                foreach (var script in scripts.Where(s => !s.Retired && s.EventTriggers.Contains(e.EventTypeName)))
                    await scheduler.PublishAsync(new ScriptTriggered(tenant.Key, script.Id, script.Version, e.EventTypeName, e.Sequence, e.StreamId,
                        Data(e)));
        }
        return NullChangeListener.Instance;
    }

    // One options instance: a new one per event rebuilt System.Text.Json's metadata cache each time.
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    private static string? Data(IEvent e)
    {
        var json = JsonSerializer.Serialize(e.Data, e.EventType, WebJson);
        return json.Length <= ScriptLimits.MaxArgumentsBytes ? json : null;
    }
}

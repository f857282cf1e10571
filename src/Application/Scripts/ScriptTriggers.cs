using System.Collections.Concurrent;
using System.Text.Json;
using Aetherra.Domain.Scripts;
using Aetherra.Infrastructure;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Subscriptions;
using Npgsql;

namespace Aetherra.Application.Scripts;

/// <summary>
/// Event triggers: a Marten subscription run by the async daemon (on one node of the cluster, from its own stored
/// position, so no event is missed across restarts and none is seen twice in normal running). For each appended
/// event whose type some script of its tenant listens for, it queues one run per such script. Events written by a
/// script's own run (their correlation id names the run) trigger nothing, so a script cannot trigger itself forever.
/// <para>
/// What it reads: the daemon loads for it only the scripts' own publish and retire events (a filter in SQL). The live
/// scripts that listen for events are held per database, read once and again after any script event passes; with
/// none, a page costs nothing. Otherwise one query per page finds the events of the types they listen for, in the
/// tenants that have them, and only those are loaded and deserialised. Before, the daemon deserialised every event of
/// the store for it and it read each tenant's scripts per page (docs/benchmarks.md);
/// <c>AETHERRA_SCRIPT_TRIGGERS=every-event</c> brings that back, for comparison.
/// </para>
/// </summary>
public sealed class ScriptTriggers : SubscriptionBase
{
    public const string SubscriptionName = "ScriptTriggers";

    private readonly ScriptScheduler _scheduler;

    /// <summary>Per database: the live scripts with event triggers, by tenant; absent until read, dropped when a script event passes.</summary>
    private readonly ConcurrentDictionary<string, IReadOnlyList<Listener>> _listeners = new();

    private sealed record Listener(string Tenant, Guid ScriptId, int Version, IReadOnlyList<string> EventTypes);

    public ScriptTriggers(ScriptScheduler scheduler)
    {
        _scheduler = scheduler;
        if (MeasurementSwitches.ScriptTriggersReadEveryEvent) return;
        IncludeType<ScriptPublished>();
        IncludeType<ScriptRetired>();
    }

    public override Task<IChangeListener> ProcessEventsAsync(
        EventRange page, ISubscriptionController controller, IDocumentOperations operations, CancellationToken cancellationToken) =>
        MeasurementSwitches.ScriptTriggersReadEveryEvent
            ? EveryEventAsync(page, operations, cancellationToken)
            : ListenedForAsync(page, operations, cancellationToken);

    private async Task<IChangeListener> ListenedForAsync(EventRange page, IDocumentOperations operations, CancellationToken ct)
    {
        var database = operations.Database.Id.ToString();
        // The page's events are the script events in its range: the scripts are read again, after them.
        if (page.Events.Count > 0) _listeners.TryRemove(database, out _);
        if (!_listeners.TryGetValue(database, out var listeners))
            _listeners[database] = listeners = await ReadListenersAsync(operations, ct);
        if (listeners.Count == 0) return NullChangeListener.Instance;

        var types = listeners.SelectMany(l => l.EventTypes).Distinct().ToArray();
        var tenants = listeners.Select(l => l.Tenant).Distinct().ToArray();
        var candidates = new List<(long Sequence, string Tenant, string Type)>();
        var schema = operations.DocumentStore.Options.Events.DatabaseSchemaName;
        await using (var connection = operations.Database.CreateConnection())
        {
            await connection.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand($"""
                select seq_id, tenant_id, type from {schema}.mt_events
                where seq_id > $1 and seq_id <= $2 and type = any($3) and tenant_id = any($4)
                  and (correlation_id is null or correlation_id not like 'script-run:%')
                order by seq_id
                """, connection);
            cmd.Parameters.Add(new() { Value = page.SequenceFloor });
            cmd.Parameters.Add(new() { Value = page.SequenceCeiling });
            cmd.Parameters.Add(new() { Value = types });
            cmd.Parameters.Add(new() { Value = tenants });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) candidates.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        foreach (var tenant in candidates.GroupBy(c => c.Tenant))
        {
            var sequences = tenant.Select(c => c.Sequence).ToArray();
            await using var query = operations.DocumentStore.QuerySession(tenant.Key);
            var events = await query.Events.QueryAllRawEvents().Where(e => sequences.Contains(e.Sequence)).OrderBy(e => e.Sequence).ToListAsync(ct);
            foreach (var e in events)
                foreach (var script in listeners.Where(l => l.Tenant == tenant.Key && l.EventTypes.Contains(e.EventTypeName)))
                    await _scheduler.PublishAsync(new ScriptTriggered(tenant.Key, script.ScriptId, script.Version, e.EventTypeName, e.Sequence, e.StreamId,
                        Data(e)));
        }
        return NullChangeListener.Instance;
    }

    /// <summary>Every live script of the database that some event type can trigger, all tenants, in one query.</summary>
    private static async Task<IReadOnlyList<Listener>> ReadListenersAsync(IDocumentOperations operations, CancellationToken ct)
    {
        var table = $"{operations.DocumentStore.Options.DatabaseSchemaName}.mt_doc_script";
        await using var connection = operations.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand($"""
            select tenant_id, data from {table}
            where data->>'retiredAt' is null and jsonb_array_length(coalesce(data->'eventTriggers', '[]'::jsonb)) > 0
            """, connection);
        var listeners = new List<Listener>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var script = operations.DocumentStore.Options.Serializer().FromJson<Script>(reader, 1);
            var types = script.EventTriggers.Where(ScriptDecisions.CanTrigger).ToList();
            if (!script.Retired && types.Count > 0) listeners.Add(new Listener(reader.GetString(0), script.Id, script.Version, types));
        }
        return listeners;
    }

    /// <summary>The way before: every event of the page deserialised, each tenant's scripts read per page.</summary>
    private async Task<IChangeListener> EveryEventAsync(EventRange page, IDocumentOperations operations, CancellationToken cancellationToken)
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
                    await _scheduler.PublishAsync(new ScriptTriggered(tenant.Key, script.Id, script.Version, e.EventTypeName, e.Sequence, e.StreamId,
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

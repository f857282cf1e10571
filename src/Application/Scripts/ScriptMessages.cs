using Aetherra.Domain.Scripts;
using Marten;
using Wolverine;
using Wolverine.Runtime;

namespace Aetherra.Application.Scripts;

/// <summary>Runs a started run (its ScriptRunStarted is already appended).</summary>
public sealed record ExecuteScriptRun(string Tenant, Guid RunId);

/// <summary>A script's schedule is due: run it and arm the next occurrence, unless a later version retired this one.</summary>
public sealed record ScriptDue(string Tenant, Guid ScriptId, int Version, string Cron, DateTimeOffset DueAt);

/// <summary>An event a script listens for was appended in its tenant.</summary>
public sealed record ScriptTriggered(string Tenant, Guid ScriptId, int Version, string EventType, long Sequence, Guid StreamId, string? Data);

/// <summary>Arms schedules as Wolverine durable scheduled messages (they survive a restart in the message store).</summary>
public sealed class ScriptScheduler(IWolverineRuntime runtime)
{
    public async Task ArmAsync(string tenant, Guid scriptId, int version, IEnumerable<string> schedules, DateTimeOffset after, CancellationToken ct)
    {
        var bus = new MessageBus(runtime);
        foreach (var cron in schedules.Distinct())
            if (Schedules.Next(cron, after) is { } due)
                await bus.ScheduleAsync(new ScriptDue(tenant, scriptId, version, cron, due), due);
    }

    public async Task PublishAsync(object message) => await new MessageBus(runtime).PublishAsync(message);
}

/// <summary>The script messages' handlers: each starts or executes a run through <see cref="ScriptRuns"/>.</summary>
public static class ScriptMessageHandler
{
    public static Task Handle(ExecuteScriptRun message, ScriptRuns runs, CancellationToken ct) => runs.ExecuteAsync(message.Tenant, message.RunId, ct);

    public static async Task Handle(ScriptDue due, IDocumentStore store, ScriptRuns runs, ScriptScheduler scheduler, TimeProvider clock, CancellationToken ct)
    {
        Script? script;
        await using (var query = store.QuerySession(due.Tenant))
            script = await query.LoadAsync<Script>(due.ScriptId, ct);
        // A later version, or a retirement, ends this chain: the due message is not armed again.
        if (script is null || script.Retired || script.Version != due.Version || !script.Schedules.Contains(due.Cron)) return;
        // The next occurrence first, so that a run that fails never breaks the chain; after now, so a node that was
        // down does not replay every missed occurrence.
        var now = clock.GetUtcNow();
        await scheduler.ArmAsync(due.Tenant, due.ScriptId, due.Version, [due.Cron], due.DueAt > now ? due.DueAt : now, ct);
        await runs.TriggerAsync(due.Tenant, script, $"schedule {due.Cron}", null, ct);
    }

    public static async Task Handle(ScriptTriggered triggered, IDocumentStore store, ScriptRuns runs, CancellationToken ct)
    {
        Script? script;
        await using (var query = store.QuerySession(triggered.Tenant))
            script = await query.LoadAsync<Script>(triggered.ScriptId, ct);
        if (script is null || script.Retired || script.Version != triggered.Version) return;
        var data = new Dictionary<string, object?>
        {
            ["type"] = triggered.EventType, ["sequence"] = (decimal)triggered.Sequence, ["stream"] = triggered.StreamId.ToString(),
            ["data"] = triggered.Data is null ? null : ScriptValues.FromJson(System.Text.Json.JsonDocument.Parse(triggered.Data).RootElement),
        };
        await runs.TriggerAsync(triggered.Tenant, script, $"event {triggered.EventType}", data, ct);
    }
}

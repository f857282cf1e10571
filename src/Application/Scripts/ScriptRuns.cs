using System.Text.Json;
using Aetherra.Application.Audit;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Scripts;
using Aetherra.Infrastructure.Keys;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Scripts;

public sealed record RunScript(JsonElement? Args);

public sealed record RunScriptResult(Guid RunId, long Sequence);

/// <summary>
/// Starting and executing runs. A run starts only after the script's version is verified again (signature, trust
/// store, key, checks): a key revoked since publication, or a source changed in the store, stops it before anything
/// runs; the refusal is audited. A started run executes in the background (a Wolverine durable local queue).
/// </summary>
public sealed class ScriptRuns(IDocumentStore store, ApiKeyStore keys, ScriptScheduler scheduler, IServiceProvider services,
    TimeProvider clock, ILogger<ScriptRuns> log)
{
    /// <summary>On demand (POST /scripts/{id}/run): the caller's command, audited as such; refusals surface as 4xx.</summary>
    public async Task<RunScriptResult> StartAsync(Guid scriptId, RunScript body, CommandContext command, CancellationToken ct)
    {
        Script script;
        await using (var query = store.QuerySession(command.Tenant))
            script = await query.LoadAsync<Script>(scriptId, ct) ?? throw new NotFound("script");
        ScriptDecisions.EnsureLive(script);
        var args = body.Args is { ValueKind: JsonValueKind.Object } a ? a.GetRawText() : null;
        if (body.Args is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) })
            throw new DomainRuleViolated("'args' must be a JSON object");
        var (runId, sequence) = await BeginAsync(script, "manual", args, command, ct);
        await scheduler.PublishAsync(new ExecuteScriptRun(command.Tenant, runId));
        return new RunScriptResult(runId, sequence);
    }

    /// <summary>By a schedule or an event: the run is the script's own command (as its key); a refusal is audited and logged.</summary>
    public async Task TriggerAsync(string tenant, Script script, string trigger, IReadOnlyDictionary<string, object?>? data, CancellationToken ct)
    {
        var command = new CommandContext(script.RunAs, tenant, Guid.CreateVersion7(), ScriptActions.Run, CommandContext.Script);
        try
        {
            var args = data is null ? null : ScriptValues.ToJson(data)!.ToJsonString();
            var (runId, _) = await BeginAsync(script, trigger, args, command, ct);
            await ExecuteAsync(tenant, runId, ct);
        }
        catch (Exception e) when (e is ScriptRefused or DomainRuleViolated)
        {
            log.LogWarning("Script {Script} v{Version} ({Trigger}) was refused and did not run: {Reason}", script.Name, script.Version, trigger, e.Message);
            await AuditTrail.RecordEndingAsync(store, command, script.Id.ToString(), Outcomes.StatusOf(Outcome.Refused), e.Message, clock.GetUtcNow(), CancellationToken.None);
        }
    }

    private async Task<(Guid RunId, long Sequence)> BeginAsync(Script script, string trigger, string? args, CommandContext command, CancellationToken ct)
    {
        if (args is { Length: > ScriptLimits.MaxArgumentsBytes }) throw new DomainRuleViolated($"'args' is at most {ScriptLimits.MaxArgumentsBytes} bytes of JSON");
        await using var session = store.OpenFor(command);
        await ScriptVerification.VerifyAsync(session, keys, command.Tenant, script.RunAs, script.Source, script.PublisherKeyId, script.Signature, ct);
        var runId = Guid.CreateVersion7();
        var now = clock.GetUtcNow();
        session.Events.StartStream<ScriptRun>(runId,
            new ScriptRunStarted(runId, script.Id, script.Name, script.Version, trigger, script.RunAs, args, now));
        var sequence = await session.CommitAsync(command, script.Id.ToString(), Outcome.Started, now, ct);
        return (runId, sequence);
    }

    /// <summary>Runs a started run to its end: each command a step, then completed or failed (budget, time limit, refusal).</summary>
    public async Task ExecuteAsync(string tenant, Guid runId, CancellationToken ct)
    {
        ScriptRun? run;
        Script? script;
        await using (var query = store.QuerySession(tenant))
        {
            run = await query.LoadAsync<ScriptRun>(runId, ct);
            if (run is not { Status: RunStatus.Running }) return;
            // The run's version as published: the stream also holds retirements, so its n-th event is not version n.
            var published = (await query.Events.FetchStreamAsync(run.ScriptId, token: ct))
                .Select(e => e.Data).OfType<ScriptPublished>().FirstOrDefault(p => p.Version == run.Version);
            script = published is null ? null : Script.Create(published);
        }
        var program = script is null ? null : ScriptParser.Parse(script.Source).Program;
        var command = new CommandContext(run.RunAs, tenant, Guid.CreateVersion7(), ScriptActions.Run, CommandContext.Script)
        {
            Correlation = $"script-run:{run.Id}",
        };
        if (program is null)
        {
            await FinishAsync(command, new ScriptRunFailed(run.Id, 0, "the script's version could not be read", false, clock.GetUtcNow()));
            return;
        }

        var interpreter = new ScriptInterpreter(program, new ScriptSteps(run, tenant, services));
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(program.Budget.Seconds));
        var ambient = new Dictionary<string, object?>
        {
            ["args"] = run.Trigger == "manual" ? Args(run) : new Dictionary<string, object?>(),
            ["trigger"] = run.Trigger == "manual" ? new Dictionary<string, object?> { ["type"] = "manual" } : Args(run),
        };
        object @event;
        try
        {
            await interpreter.RunAsync(ambient, limit.Token);
            var output = JsonSerializer.Serialize(ScriptValues.ToJson(interpreter.Emitted.ToList()));
            @event = output.Length > ScriptLimits.MaxOutputBytes
                ? new ScriptRunFailed(run.Id, interpreter.Steps, $"the output is over {ScriptLimits.MaxOutputBytes} bytes", false, clock.GetUtcNow())
                : new ScriptRunCompleted(run.Id, interpreter.Steps, output, clock.GetUtcNow());
        }
        catch (ScriptStopped stopped)
        {
            @event = new ScriptRunFailed(run.Id, interpreter.Steps, stopped.Message, stopped.BudgetExhausted, clock.GetUtcNow());
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            @event = new ScriptRunFailed(run.Id, interpreter.Steps, $"the time limit of {program.Budget.Seconds} seconds was reached", true,
                clock.GetUtcNow());
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogError(e, "Script run {RunId} failed unexpectedly", run.Id);
            @event = new ScriptRunFailed(run.Id, interpreter.Steps, "an unexpected error stopped the run; it has been logged", false, clock.GetUtcNow());
        }
        await FinishAsync(command, @event);
    }

    private static object? Args(ScriptRun run) =>
        run.Arguments is null ? new Dictionary<string, object?>() : ScriptValues.FromJson(JsonDocument.Parse(run.Arguments).RootElement);

    private async Task FinishAsync(CommandContext command, object @event)
    {
        await using var session = store.OpenFor(command);
        var runId = @event switch { ScriptRunCompleted c => c.RunId, ScriptRunFailed f => f.RunId, _ => throw new ArgumentException("not an ending", nameof(@event)) };
        session.Events.Append(runId, @event);
        await session.SaveChangesAsync(CancellationToken.None);
    }
}

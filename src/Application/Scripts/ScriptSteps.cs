using Aetherra.Application.Audit;
using Aetherra.Application.Common;
using Aetherra.Application.Decisions;
using Aetherra.Application.Memory;
using Aetherra.Application.Plugins;
using Aetherra.Application.Recall;
using Aetherra.Application.Tasks;
using Aetherra.Domain;
using Aetherra.Domain.Decisions;
using Aetherra.Domain.Plugins;
using Aetherra.Domain.Scripts;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Scripts;

/// <summary>
/// A run's commands, each through the same use case, validator and audit as its HTTP route, as the script's key
/// (its own request id, the run's correlation id, channel "script"); then the step and its outcome are appended to
/// the run's stream. A refused command is audited as refused and stops the run.
/// </summary>
public sealed class ScriptSteps(ScriptRun run, string tenant, IServiceProvider services) : IScriptSteps
{
    private readonly IDocumentStore _store = services.GetRequiredService<IDocumentStore>();
    private readonly TimeProvider _clock = services.GetRequiredService<TimeProvider>();

    public async Task<object?> RunAsync(int n, Call call, IReadOnlyDictionary<string, object?> arguments, CancellationToken ct)
    {
        var a = new Arguments(call, arguments);
        var command = new CommandContext(run.RunAs, tenant, Guid.CreateVersion7(), Action(call.Command), CommandContext.Script)
        {
            Correlation = $"script-run:{run.Id}",
        };
        object? result;
        Outcome outcome;
        try
        {
            (result, outcome) = await ExecuteAsync(call.Command, a, command, ct);
        }
        catch (Exception e) when (Refused(e) is { } refused)
        {
            if (!command.Audited)
                await AuditTrail.RecordEndingAsync(_store, command, a.Target, refused, e.Message, _clock.GetUtcNow(), CancellationToken.None);
            await RecordAsync(n, call, command, "refused", refused, e.Message);
            throw new ScriptStopped(call.At, $"'{call.Command}' was refused ({refused}): {e.Message}");
        }
        catch (Exception e) when (e is not OperationCanceledException and not ScriptStopped)
        {
            // Our fault, not the script's: recorded as the route would record a 500, and the run stops saying so.
            services.GetRequiredService<ILogger<ScriptSteps>>().LogError(e, "Step {N} ({Command}) of script run {RunId} failed", n, call.Command, run.Id);
            const string reason = "an unexpected error occurred; it has been logged";
            var failed = Outcomes.StatusOf(Outcome.Failed);
            if (!command.Audited)
                await AuditTrail.RecordEndingAsync(_store, command, a.Target, failed, reason, _clock.GetUtcNow(), CancellationToken.None);
            await RecordAsync(n, call, command, "failed", failed, reason);
            throw new ScriptStopped(call.At, $"'{call.Command}' failed: {reason}");
        }
        var status = Outcomes.StatusOf(outcome);
        if (!command.Audited)
            await AuditTrail.RecordEndingAsync(_store, command, a.Target, status, null, _clock.GetUtcNow(), CancellationToken.None);
        await RecordAsync(n, call, command, "ok", status, Summary(result));
        return result;
    }

    private async Task<(object? Result, Outcome Outcome)> ExecuteAsync(string name, Arguments a, CommandContext command, CancellationToken ct)
    {
        switch (name)
        {
            case "remember":
            {
                var body = new RecordMemory(a.Text("content"), a.Text("subject"), a.Text("agent"), a.Text("session"), a.Text("kind"),
                    a.Texts("tags"), a.Number("importance"), a.Text("classification"), null, null, a.Text("source"));
                await ValidateAsync(body, ct);
                var r = await RecordMemoryHandler.Handle(body, command, _store, services.GetRequiredService<SubjectKeyStore>(), _clock, ct);
                return (ScriptValues.FromResult(r), r.Outcome);
            }
            case "recall":
            {
                var body = new RecallRequest(a.Text("query"), a.Text("subject"), a.Text("agent"), a.Text("session"), a.Texts("kinds"),
                    a.Texts("tags"), (int?)a.Number("limit"), null, null, null);
                await ValidateAsync(body, ct);
                var r = await services.GetRequiredService<RecallQuery>().RunAsync(tenant, body, ct);
                return (ScriptValues.FromResult(r.Results), Outcome.Done);
            }
            case "forget":
            {
                var id = a.Id("id");
                if (a.Text("reason") is { Length: > MemoryLimits.MaxReasonLength })
                    throw new ScriptArgumentInvalid($"The length of 'Reason' must be {MemoryLimits.MaxReasonLength} characters or fewer.");
                var r = await ForgetMemoryHandler.Handle(id, a.Text("reason"), command, _store, _clock, ct);
                return (ScriptValues.FromResult(r), Outcome.Done);
            }
            case "decide":
            {
                var risk = a.Text("risk");
                var body = new ProposeDecision(a.Text("agent"), a.Text("category"), a.Text("action"), a.Number("confidence"), a.Text("rationale"),
                    Enum.TryParse<Risk>(risk, ignoreCase: true, out var parsed) && !int.TryParse(risk, out _) ? parsed : (Risk)(-1),
                    a.Evidence("evidence"), a.Text("subject"));
                await ValidateAsync(body, ct);
                var r = await ProposeDecisionHandler.Handle(body, command, _store, services.GetRequiredService<AutonomySettings>(), _clock, ct);
                return (ScriptValues.FromResult(r), Outcome.Created);
            }
            case "invoke":
            {
                var body = new InvokePlugin(a.Text("capability"), ScriptValues.ToElement(a.Value("input")));
                await ValidateAsync(body, ct);
                var r = await InvokePluginHandler.Handle(a.Text("plugin") ?? "", body, command, _store,
                    services.GetRequiredService<PluginInvoker>(), _clock, ct);
                return (ScriptValues.FromResult(r), Outcome.Done);
            }
            case "task":
            {
                var body = new CreateTask(a.Text("title"), a.Text("agent"), (int?)a.Number("priority"), ScriptValues.ToElement(a.Value("input")),
                    null, (int?)a.Number("maxAttempts"), null);
                await ValidateAsync(body, ct);
                var r = await CreateTaskHandler.Handle(body, command, _store, _clock, ct);
                return (ScriptValues.FromResult(r), Outcome.Created);
            }
            default: throw new ScriptArgumentInvalid($"unknown command '{name}'");
        }
    }

    private static string Action(string command) => command switch
    {
        "remember" => MemoryActions.Record,
        "recall" => ScriptActions.Recall,
        "forget" => MemoryActions.Forget,
        "decide" => DecisionActions.Propose,
        "invoke" => PluginActions.Invoke,
        "task" => TaskActions.Create,
        _ => "script.unknown",
    };

    private async Task ValidateAsync<T>(T body, CancellationToken ct)
    {
        var result = await services.GetRequiredService<IValidator<T>>().ValidateAsync(body, ct);
        if (!result.IsValid)
            throw new ScriptArgumentInvalid(string.Join(" ", result.Errors.Select(e => e.ErrorMessage).Distinct()));
    }

    private async Task RecordAsync(int n, Call call, CommandContext command, string outcome, int status, string? detail)
    {
        await using var session = _store.OpenFor(command);
        session.Events.Append(run.Id, new ScriptStepCompleted(run.Id, n, call.Command, call.At.Line, call.At.Column, outcome, status,
            detail is { Length: > 1000 } ? detail[..1000] : detail, command.RequestId, _clock.GetUtcNow()));
        await session.SaveChangesAsync(CancellationToken.None);
    }

    private static string? Summary(object? result) => result switch
    {
        IReadOnlyList<object?> list => $"{list.Count} results",
        IReadOnlyDictionary<string, object?> r when r.TryGetValue("id", out var id) =>
            r.TryGetValue("status", out var s) && s is string status ? $"{id} {status}" : $"{id}",
        _ => null,
    };

    /// <summary>
    /// The status the HTTP pipeline answers a refused command with (the edge's one problem table), else null: a fault of
    /// ours. An unavailable store is no refusal of the script's: the step fails, as every fault does.
    /// </summary>
    private static int? Refused(Exception e) => Outcomes.RefusalOf(e) is { } status && status != Outcomes.StatusOf(Outcome.Unavailable)
        ? status
        : null;

    /// <summary>A command's arguments, read as the types its use case takes (a wrong type is a 400 refusal).</summary>
    private sealed class Arguments(Call call, IReadOnlyDictionary<string, object?> values)
    {
        public string? Target => Value("id") as string ?? Value("subject") as string ?? Value("plugin") as string;

        public object? Value(string name) => values.GetValueOrDefault(name);

        public string? Text(string name) => Value(name) switch
        {
            null => null,
            string s => s,
            _ => throw new ScriptArgumentInvalid($"'{name}' of '{call.Command}' must be text"),
        };

        public double? Number(string name) => Value(name) switch
        {
            null => null,
            decimal d => (double)d,
            _ => throw new ScriptArgumentInvalid($"'{name}' of '{call.Command}' must be a number"),
        };

        public IReadOnlyList<string>? Texts(string name) => Value(name) switch
        {
            null => null,
            IReadOnlyList<object?> l when l.All(x => x is string) => l.Cast<string>().ToList(),
            _ => throw new ScriptArgumentInvalid($"'{name}' of '{call.Command}' must be a list of texts"),
        };

        /// <summary>A memory's id: text, or a record with an id (a recall result).</summary>
        public Guid Id(string name) => Value(name) switch
        {
            string s when Guid.TryParse(s, out var g) => g,
            IReadOnlyDictionary<string, object?> r when r.GetValueOrDefault("id") is string s && Guid.TryParse(s, out var g) => g,
            _ => throw new ScriptArgumentInvalid($"'{name}' of '{call.Command}' must be a memory id or a recalled memory"),
        };

        /// <summary>Evidence: recalled memories (their id and version), or records {memoryId, version}.</summary>
        public IReadOnlyList<EvidenceInput>? Evidence(string name) => Value(name) switch
        {
            null => null,
            IReadOnlyList<object?> l => l.Select(item => item switch
            {
                IReadOnlyDictionary<string, object?> r when (r.GetValueOrDefault("id") ?? r.GetValueOrDefault("memoryId")) is string s
                                                           && Guid.TryParse(s, out var g) && r.GetValueOrDefault("version") is decimal v =>
                    new EvidenceInput(g, (int)v),
                _ => throw new ScriptArgumentInvalid($"each of '{name}' must be a recalled memory or {{memoryId, version}}"),
            }).ToList(),
            _ => throw new ScriptArgumentInvalid($"'{name}' of '{call.Command}' must be a list of recalled memories"),
        };
    }
}

/// <summary>An argument of the wrong kind, or one the route's validator refuses: the step's 400.</summary>
public sealed class ScriptArgumentInvalid(string message) : Exception(message);

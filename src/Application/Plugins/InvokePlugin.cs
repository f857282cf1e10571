using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Plugins;

public sealed record InvokePlugin(string? Capability, JsonElement? Input);

public sealed record InvokePluginResult(JsonElement Output, double DurationMs, Guid InvocationId, long Sequence);

public sealed class InvokePluginValidator : AbstractValidator<InvokePlugin>
{
    public InvokePluginValidator()
    {
        RuleFor(x => x.Capability).NotEmpty().Matches(PluginLimits.NamePattern)
            .WithMessage("'Capability' must be one of the plugin's capability names.");
        RuleFor(x => x.Input).Must(i => i is null || i.Value.GetRawText().Length <= PluginLimits.MaxInputBytes)
            .WithMessage($"'Input' is at most {PluginLimits.MaxInputBytes} bytes of JSON.");
    }
}

/// <summary>A call that ended badly: a bad answer, unreachable, breaker open, redirect, too large, or a timeout.</summary>
public sealed class PluginCallFailed(bool timedOut, string errorClass, string message, Guid invocationId, long sequence) : Exception(message)
{
    public bool TimedOut { get; } = timedOut;
    public string ErrorClass { get; } = errorClass;
    public Guid InvocationId { get; } = invocationId;
    public long Sequence { get; } = sequence;
}

/// <summary>
/// Calls an enabled plugin and records the call's outcome, whatever it is, as PluginInvocationCompleted or
/// PluginInvocationFailed on a stream of its own (the invocation id), together with the command's audit record.
/// The plugin's own stream is only read, so calls never contend with each other or with lifecycle moves.
/// </summary>
public static class InvokePluginHandler
{
    public static async Task<InvokePluginResult> Handle(
        string pluginId, InvokePlugin request, CommandContext command, IDocumentStore store, PluginInvoker invoker,
        TimeProvider clock, CancellationToken ct)
    {
        Plugin plugin;
        await using (var query = store.QuerySession(command.Tenant))
            plugin = await query.LoadAsync<Plugin>(PluginStreams.Plugin(command.Tenant, pluginId), ct) ?? throw new NotFound("plugin");
        PluginDecisions.EnsureInvocable(plugin, request.Capability!);

        var invocationId = Guid.CreateVersion7();
        var outcome = await invoker.CallAsync(command.Tenant, plugin, invocationId, request.Capability!, request.Input, ct);
        var now = clock.GetUtcNow();
        object recorded = outcome.Succeeded
            ? new PluginInvocationCompleted(invocationId, plugin.Id, plugin.PluginId, plugin.Manifest.Version, request.Capability!,
                command.Actor, outcome.DurationMs, outcome.Status ?? 200, now)
            : new PluginInvocationFailed(invocationId, plugin.Id, plugin.PluginId, plugin.Manifest.Version, request.Capability!,
                command.Actor, outcome.DurationMs, outcome.Status, outcome.ErrorClass!, outcome.Error!, now);
        var ending = outcome.ErrorClass switch
        {
            null => Outcome.Done,
            InvocationErrors.Timeout => Outcome.UpstreamTimedOut,
            InvocationErrors.Cancelled => Outcome.Abandoned,
            _ => Outcome.UpstreamFailed,
        };

        // Recorded even when the caller has gone: the plugin may have acted, and the log must say so.
        await using var session = store.OpenFor(command);
        session.Events.StartStream(invocationId, recorded);
        var sequence = await session.CommitAsync(command, pluginId, ending, now, CancellationToken.None, outcome.ErrorClass);
        return outcome.Succeeded
            ? new InvokePluginResult(outcome.Output!.Value, Math.Round(outcome.DurationMs, 3), invocationId, sequence)
            : throw new PluginCallFailed(ending == Outcome.UpstreamTimedOut, outcome.ErrorClass!, outcome.Error!, invocationId, sequence);
    }
}

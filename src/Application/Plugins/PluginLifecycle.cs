using Aetherra.Application.Common;
using Aetherra.Domain.Plugins;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Plugins;

/// <summary>A lifecycle move's reason (required to disable or retire, optional to enable).</summary>
public sealed record PluginReason(string? Reason);

public sealed class PluginReasonValidator : AbstractValidator<PluginReason>
{
    public PluginReasonValidator() => RuleFor(x => x.Reason).NotEmpty().MaximumLength(PluginLimits.MaxReasonLength);
}

public sealed record PluginStatusResult(string Id, string Status, long Sequence);

/// <summary>The shared shape of enable, disable and retire: load the plugin for writing, decide, commit with the audit.</summary>
internal static class PluginLifecycle
{
    public static async Task<PluginStatusResult> MoveAsync(
        string pluginId, CommandContext command, IDocumentStore store, TimeProvider clock,
        Func<IDocumentSession, Plugin, DateTimeOffset, Task<object>> decide, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        try
        {
            var stream = await session.Events.FetchForWriting<Plugin>(PluginStreams.Plugin(command.Tenant, pluginId), ct);
            var current = stream.Aggregate ?? throw new NotFound("plugin");
            var now = clock.GetUtcNow();
            var e = await decide(session, current, now);
            stream.AppendOne(e);
            var sequence = await session.CommitAsync(command, pluginId, Outcome.Done, now, ct);
            var moved = e switch
            {
                PluginEnabled x => current.Apply(x),
                PluginDisabled x => current.Apply(x),
                PluginRetired x => current.Apply(x),
                _ => current,
            };
            return new PluginStatusResult(pluginId, RegisterPluginHandler.Status(moved.Status), sequence);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw await ConflictPolicy.CurrentVersionAsync<Plugin>(store, command.Tenant, PluginStreams.Plugin(command.Tenant, pluginId), "plugin",
                p => p.Version, ct);
        }
    }
}

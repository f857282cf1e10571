using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Scripts;
using Marten;

namespace Aetherra.Application.Scripts;

public sealed record RetireScriptResult(Guid Id, string Name, int Version, bool Retired, long Sequence);

/// <summary>
/// Retires a script's live version: its schedules and event triggers stop (a due message of a retired script is not
/// armed again) and a manual run is refused, until a new version is published. Another tenant's script is not found.
/// </summary>
public static class RetireScriptHandler
{
    public static async Task<RetireScriptResult> Handle(Guid id, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var stream = await session.Events.FetchForWriting<Script>(id, ct);
        var script = stream.Aggregate ?? throw new NotFound("script");
        var now = clock.GetUtcNow();
        stream.AppendOne(ScriptDecisions.Retire(script, command.Actor, now));
        var sequence = await ConflictPolicy.AnswerAsync(() => session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct),
            () => new DomainRuleViolated($"script '{script.Name}' changed concurrently; read it again and retry"));
        return new RetireScriptResult(id, script.Name, script.Version, true, sequence);
    }
}

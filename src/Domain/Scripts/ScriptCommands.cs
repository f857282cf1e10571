namespace Aetherra.Domain.Scripts;

/// <summary>A command a script may call: the scope its HTTP route needs, and its arguments (not sealed: not an event).</summary>
public record CommandSpec(string Name, string Scope, string Route, IReadOnlyList<string> Required, IReadOnlyList<string> Optional)
{
    public bool Takes(string argument) => Required.Contains(argument) || Optional.Contains(argument);
}

/// <summary>
/// The commands of the .aether language. Each is an existing use case, run with the same validation, scope and
/// audit as its route (named here): a script can do nothing its key could not do over HTTP.
/// </summary>
public static class ScriptCommands
{
    public static readonly IReadOnlyDictionary<string, CommandSpec> All = new[]
    {
        new CommandSpec("remember", "memory:write", "POST /memories", ["content", "subject", "agent", "kind"],
            ["session", "tags", "importance", "classification", "source"]),
        new CommandSpec("recall", "memory:read", "POST /recall", ["query"], ["subject", "agent", "session", "kinds", "tags", "limit"]),
        new CommandSpec("forget", "memory:write", "DELETE /memories/{id}", ["id"], ["reason"]),
        new CommandSpec("decide", "decisions:write", "POST /decisions", ["agent", "category", "action", "confidence", "rationale", "risk"],
            ["subject", "evidence"]),
        new CommandSpec("invoke", "plugins:invoke", "POST /plugins/{id}/invoke", ["plugin", "capability"], ["input"]),
        new CommandSpec("task", "tasks:write", "POST /tasks", ["title"], ["agent", "priority", "input", "maxAttempts"]),
    }.ToDictionary(c => c.Name, StringComparer.Ordinal);
}

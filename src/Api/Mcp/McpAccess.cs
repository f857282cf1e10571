using System.Reflection;
using ModelContextProtocol.Server;

namespace Aetherra.Api.Mcp;

/// <summary>
/// What a tool needs and how it is audited, as its HTTP route declares it: the scope of the route's
/// <c>[Authorize]</c> and, for a command, the route's operation id (the audit action).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class McpAccessAttribute(string scope) : Attribute
{
    public string Scope { get; } = scope;

    /// <summary>The audit action of the command this tool runs; null for a query, which is not audited.</summary>
    public string? Action { get; init; }
}

/// <summary>Every tool's access, by tool name, read once from the tool classes' attributes.</summary>
public static class McpCatalogue
{
    public static readonly IReadOnlyList<Type> ToolTypes =
        [typeof(MemoryTools), typeof(DecisionTools), typeof(PluginTools), typeof(SystemTools), typeof(ConversationTools)];

    public static readonly IReadOnlyList<MethodInfo> Methods = ToolTypes
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
        .Where(m => m.GetCustomAttribute<McpServerToolAttribute>() is not null)
        .ToList();

    public static readonly IReadOnlyDictionary<string, McpAccessAttribute> Tools = Methods
        .ToDictionary(
            m => m.GetCustomAttribute<McpServerToolAttribute>()!.Name ?? throw new InvalidOperationException($"tool {m.Name} has no name"),
            m => m.GetCustomAttribute<McpAccessAttribute>() ?? throw new InvalidOperationException($"tool {m.Name} declares no access"),
            StringComparer.Ordinal);
}

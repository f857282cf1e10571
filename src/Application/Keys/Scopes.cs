namespace Aetherra.Application.Keys;

/// <summary>
/// The scopes of API.md. <c>admin</c> implies every scope of its own tenant; <c>operator</c> is the
/// installation's (keys for any tenant, setpoints, projections, jobs, cluster, AI providers) and is
/// implied by nothing else.
/// </summary>
public static class Scopes
{
    public const string MemoryRead = "memory:read";
    public const string MemoryWrite = "memory:write";
    public const string DecisionsRead = "decisions:read";
    public const string DecisionsWrite = "decisions:write";
    public const string DecisionsApprove = "decisions:approve";
    public const string PluginsRead = "plugins:read";
    public const string PluginsInvoke = "plugins:invoke";
    public const string PluginsAdmin = "plugins:admin";
    public const string AuditRead = "audit:read";
    public const string HomeostasisRead = "homeostasis:read";
    public const string EventsRead = "events:read";
    public const string ConversationsRead = "conversations:read";
    public const string ConversationsWrite = "conversations:write";
    public const string TasksRead = "tasks:read";
    public const string TasksWrite = "tasks:write";
    public const string ChangesWrite = "changes:write";
    public const string ChangesStage = "changes:stage";
    public const string ScriptsRead = "scripts:read";
    public const string ScriptsRun = "scripts:run";
    public const string Admin = "admin";
    public const string Operator = "operator";

    public static readonly IReadOnlyList<string> All =
    [
        MemoryRead, MemoryWrite, DecisionsRead, DecisionsWrite, DecisionsApprove, PluginsRead, PluginsInvoke,
        PluginsAdmin, AuditRead, HomeostasisRead, EventsRead, ConversationsRead, ConversationsWrite, TasksRead,
        TasksWrite, ChangesWrite, ChangesStage, ScriptsRead, ScriptsRun, Admin, Operator
    ];

    public static bool Grants(IEnumerable<string> held, string wanted) =>
        held.Any(s => s == wanted || (s == Admin && wanted != Operator));
}

namespace Aetherra.Application.Scripts;

/// <summary>Audit action names of the script commands (also the endpoints' operation ids).</summary>
public static class ScriptActions
{
    public const string Publish = "script.publish";
    public const string Run = "script.run";
    public const string Retire = "script.retire";

    /// <summary>A recall is a query over HTTP (not audited there); as a script's step it is recorded under this action.</summary>
    public const string Recall = "script.recall";
}

public static class ScriptLimits
{
    public const string NamePattern = "^[a-z][a-z0-9._-]{0,63}$";
    public const int MaxArgumentsBytes = 16 * 1024;
    public const int MaxOutputBytes = 64 * 1024;
}

/// <summary>A script's stream is named by its tenant and name (UUID v5), so each upload of a name is its next version.</summary>
public static class ScriptStreams
{
    public static Guid Script(string tenant, string name) => Plugins.PluginStreams.NameBased($"script\n{tenant}\n{name}");
}

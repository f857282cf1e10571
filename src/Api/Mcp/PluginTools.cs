using System.ComponentModel;
using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Plugins;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Npgsql;

namespace Aetherra.Api.Mcp;

/// <summary>Plugins as MCP tools: the same use cases as Api/Plugins' routes, with the routes' field names.</summary>
[McpServerToolType]
public static class PluginTools
{
    [McpServerTool(Name = "list_plugins", Title = "List plugins", ReadOnly = true, Idempotent = true, OpenWorld = false,
         UseStructuredContent = true, OutputSchemaType = typeof(PluginList)),
     Description("The tenant's plugins with their status (only 'enabled' ones can be invoked), call counts, success rate and latency."),
     McpAccess(Scopes.PluginsRead)]
    public static async Task<CallToolResult> List(
        McpCall call, IDocumentStore store, TenantDatabases databases, TimeProvider clock,
        [Description("Read-your-writes: the 'sequence' a previous call returned.")] long? minSequence = null,
        CancellationToken ct = default)
    {
        var db = databases.For(call.Tenant);
        await Consistency.WaitForProjectionAsync(db, PluginAnalyticsProjection.ProjectionName, minSequence, clock, ct);
        var list = await ReadPlugins.List(call.Tenant, store, ct);
        return McpJson.Result(list, list.Items.Count == 0
            ? "No plugin is registered."
            : $"{list.Items.Count} plugins:" + string.Concat(list.Items.Select(p => $"\n- {p.Id} {p.Version} ({p.Category}, {p.Status}): {p.Name}")));
    }

    [McpServerTool(Name = "invoke_plugin", Title = "Invoke a plugin", ReadOnly = false, Destructive = false, Idempotent = false,
         OpenWorld = true, UseStructuredContent = true, OutputSchemaType = typeof(InvokePluginResult)),
     Description("Call one capability of an enabled plugin with a JSON input; returns the plugin's JSON output. The call is " +
                 "recorded, succeeded or failed."),
     McpAccess(Scopes.PluginsInvoke, Action = PluginActions.Invoke)]
    public static async Task<CallToolResult> Invoke(
        [Description("The plugin's id (from list_plugins).")] string id,
        [Description("The capability to call, one of the plugin's manifest.")] string capability,
        McpCall call, IValidator<InvokePlugin> validator, IDocumentStore store, PluginInvoker invoker, TimeProvider clock,
        [Description("The capability's input, any JSON (at most 256 KiB).")] JsonElement? input = null,
        CancellationToken ct = default)
    {
        var body = new InvokePlugin(capability, input);
        await McpGate.ValidateAsync(validator, body, ct);
        var r = await InvokePluginHandler.Handle(id, body, call.Command, store, invoker, clock, ct);
        return McpJson.Result(r, $"{id}.{capability} answered in {r.DurationMs:0.#} ms: {Shorten(r.Output.GetRawText())}");
    }

    private static string Shorten(string s) => s.Length <= 2000 ? s : s[..2000] + "…";
}

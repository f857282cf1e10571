using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Plugins;
using Aetherra.Infrastructure.Database;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Plugins;

/// <summary>Plugins over HTTP: bind, authorise (by attribute), call the use case, answer.</summary>
public static class PluginEndpoints
{
    [WolverinePost("/plugins", OperationId = PluginActions.Register), Authorize(Policy = Scopes.PluginsAdmin)]
    public static async Task<IResult> Register(
        RegisterPlugin body, HttpContext http, IDocumentStore store, PluginSettings settings, TimeProvider clock, CancellationToken ct)
    {
        var r = await RegisterPluginHandler.Handle(body, http.Command(), store, settings, clock, ct);
        var answer = new { id = r.Id, status = r.Status, version = r.Version, upgraded = r.Upgraded, sequence = r.Sequence };
        return r.Upgraded ? Results.Ok(answer) : Results.Created($"/plugins/{r.Id}", answer);
    }

    [WolverineGet("/plugins", OperationId = "plugin.list"), Authorize(Policy = Scopes.PluginsRead)]
    public static async Task<PluginList> List(
        long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForProjectionAsync(db, PluginAnalyticsProjection.ProjectionName, minSequence, clock, ct);
        return await ReadPlugins.List(http.User.Tenant(), store, ct);
    }

    [WolverineGet("/plugins/{id}", OperationId = "plugin.get"), Authorize(Policy = Scopes.PluginsRead)]
    public static async Task<PluginDetail> Get(
        string id, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForProjectionAsync(db, PluginAnalyticsProjection.ProjectionName, minSequence, clock, ct);
        return await ReadPlugins.Get(http.User.Tenant(), id, store, ct);
    }

    [WolverinePost("/plugins/{id}/enable", OperationId = PluginActions.Enable), Authorize(Policy = Scopes.PluginsAdmin)]
    public static Task<PluginStatusResult> Enable(
        string id, string? reason, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        EnablePluginHandler.Handle(id, reason, http.Command(), store, clock, ct);

    [WolverinePost("/plugins/{id}/disable", OperationId = PluginActions.Disable), Authorize(Policy = Scopes.PluginsAdmin)]
    public static Task<PluginStatusResult> Disable(
        string id, PluginReason body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        DisablePluginHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverinePost("/plugins/{id}/retire", OperationId = PluginActions.Retire), Authorize(Policy = Scopes.PluginsAdmin)]
    public static Task<PluginStatusResult> Retire(
        string id, PluginReason body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        RetirePluginHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverinePost("/plugins/{id}/invoke", OperationId = PluginActions.Invoke), Authorize(Policy = Scopes.PluginsInvoke)]
    public static Task<InvokePluginResult> Invoke(
        string id, InvokePlugin body, HttpContext http, IDocumentStore store, PluginInvoker invoker, TimeProvider clock, CancellationToken ct) =>
        InvokePluginHandler.Handle(id, body, http.Command(), store, invoker, clock, ct);
}

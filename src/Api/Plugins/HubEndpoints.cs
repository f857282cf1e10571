using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Plugins;
using Aetherra.Application.Plugins.Hub;
using Aetherra.Infrastructure.AuditLog;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Wolverine.Http;

namespace Aetherra.Api.Plugins;

/// <summary>
/// The hub. Publishing: GET /hub/catalogue answers the caller's tenant's catalogue, signed by the installation's
/// audit key (one key per installation: the catalogue names its tenant inside the signed bytes). Consuming: a
/// tenant's administrator adds sources, syncs them and imports what they offer; sources, offers and imports are the
/// tenant's own, and every manifest is checked against the tenant's own trust store.
/// </summary>
public static class HubEndpoints
{
    [WolverineGet("/hub/catalogue", OperationId = "hub.catalogue"), Authorize(Policy = Scopes.PluginsRead)]
    public static async Task<IResult> Catalogue(HttpContext http, IDocumentStore store, AuditSigner signer, TimeProvider clock, CancellationToken ct) =>
        Results.Bytes(await HubCatalogue.PublishAsync(http.User.Tenant(), store, signer, clock.GetUtcNow(), ct), "application/json");

    [WolverinePost("/hub/sources", OperationId = HubActions.AddSource), Authorize(Policy = Scopes.Admin)]
    public static async Task<IResult> Add(
        AddHubSource body, HttpContext http, IDocumentStore store, PluginSettings settings, MasterKey master, TimeProvider clock, CancellationToken ct)
    {
        var r = await AddHubSourceHandler.Handle(body, http.Command(), store, settings, master, clock, ct);
        return Results.Created($"/hub/sources/{r.Id}", new { id = r.Id, publicKeyId = r.PublicKeyId, sequence = r.Sequence });
    }

    [WolverineGet("/hub/sources", OperationId = "hub.source-list"), Authorize(Policy = Scopes.Admin)]
    public static async Task<object> List(HttpContext http, IDocumentStore store, CancellationToken ct) =>
        new { items = await ReadHub.List(http.User.Tenant(), store, ct) };

    [WolverineGet("/hub/sources/{id}", OperationId = "hub.source-get"), Authorize(Policy = Scopes.Admin)]
    public static Task<HubSourceView> Get(Guid id, HttpContext http, IDocumentStore store, CancellationToken ct) =>
        ReadHub.Get(http.User.Tenant(), id, store, ct);

    /// <summary>A refused catalogue is recorded (an event and the audit) before it is answered 422 with the reason.</summary>
    [WolverinePost("/hub/sources/{id}/sync", OperationId = HubActions.Sync), Authorize(Policy = Scopes.Admin)]
    public static async Task<IResult> Sync(Guid id, HttpContext http, HubSync sync, CancellationToken ct)
    {
        var r = await sync.SyncAsync(id, http.Command(), ct);
        if (r.Reason is not { } reason) return Results.Ok(r);
        var detail = $"the catalogue was refused: {reason}";
        http.Items[Problems.ReasonItem] = detail;
        var problem = new ProblemDetails { Status = 422, Title = "Catalogue refused", Detail = detail, Instance = http.Request.Path };
        problem.Extensions["sequence"] = r.Sequence;
        return Results.Problem(problem);
    }

    [WolverinePost("/hub/sources/{id}/plugins/{pluginId}/import", OperationId = HubActions.Import), Authorize(Policy = Scopes.Admin)]
    public static async Task<IResult> Import(
        Guid id, string pluginId, HttpContext http, IDocumentStore store, PluginSettings settings, TimeProvider clock, CancellationToken ct)
    {
        var r = await ImportHubPluginHandler.Handle(id, pluginId, http.Command(), store, settings, clock, ct);
        var answer = new { id = r.Id, status = r.Status, version = r.Version, upgraded = r.Upgraded, source = id, sequence = r.Sequence };
        return r.Upgraded ? Results.Ok(answer) : Results.Created($"/plugins/{r.Id}", answer);
    }
}

using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Keys;
using Aetherra.Application.Scripts;
using Aetherra.Infrastructure.Keys;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Scripts;

/// <summary>.aether scripts over HTTP: bind, authorise (by attribute), call the use case, answer.</summary>
public static class ScriptEndpoints
{
    [WolverinePost("/scripts", OperationId = ScriptActions.Publish), Authorize(Policy = Scopes.Admin)]
    [Microsoft.AspNetCore.Mvc.ProducesResponseType<PublishScriptResult>(StatusCodes.Status201Created)]
    public static async Task<IResult> Publish(
        PublishScript body, HttpContext http, IDocumentStore store, ApiKeyStore keys, ScriptScheduler scheduler, TimeProvider clock,
        CancellationToken ct)
    {
        var r = await PublishScriptHandler.Handle(body, http.Command(), store, keys, scheduler, clock, ct);
        return Results.Created($"/scripts/{r.Id}", r);
    }

    [WolverineGet("/scripts/{id}", OperationId = "script.get"), Authorize(Policy = Scopes.ScriptsRead)]
    public static Task<ScriptView> Get(Guid id, HttpContext http, IDocumentStore store, CancellationToken ct) =>
        ReadScripts.Get(http.User.Tenant(), id, store, ct);

    [WolverinePost("/scripts/{id}/run", OperationId = ScriptActions.Run), Authorize(Policy = Scopes.ScriptsRun)]
    [Microsoft.AspNetCore.Mvc.ProducesResponseType<RunScriptResult>(StatusCodes.Status202Accepted)]
    public static async Task<IResult> Run(Guid id, RunScript body, HttpContext http, ScriptRuns runs, CancellationToken ct)
    {
        var r = await runs.StartAsync(id, body, http.Command(), ct);
        return Results.Accepted($"/scripts/runs/{r.RunId}", r);
    }

    [WolverinePost("/scripts/{id}/retire", OperationId = ScriptActions.Retire), Authorize(Policy = Scopes.Admin)]
    public static Task<RetireScriptResult> Retire(Guid id, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        RetireScriptHandler.Handle(id, http.Command(), store, clock, ct);

    [WolverineGet("/scripts/{id}/runs", OperationId = "script.runs"), Authorize(Policy = Scopes.ScriptsRead)]
    public static Task<IReadOnlyList<RunView>> Runs(Guid id, HttpContext http, IDocumentStore store, CancellationToken ct) =>
        ReadScripts.Runs(http.User.Tenant(), id, store, ct);

    [WolverineGet("/scripts/runs/{runId}", OperationId = "script.run-get"), Authorize(Policy = Scopes.ScriptsRead)]
    public static Task<RunView> GetRun(Guid runId, HttpContext http, IDocumentStore store, CancellationToken ct) =>
        ReadScripts.Run(http.User.Tenant(), runId, store, ct);
}

using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Changes;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.AuditLog;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Changes;

/// <summary>Governed code changes: propose, signed stage verdicts, ship behind the gates, roll back.</summary>
public static class ChangeEndpoints
{
    [WolverinePost("/changes", OperationId = ChangeActions.Propose), Authorize(Policy = Scopes.ChangesWrite)]
    public static async Task<IResult> Propose(ProposeChange body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var r = await ProposeChangeHandler.Handle(body, http.Command(), store, clock, ct);
        return Results.Created($"/changes/{r.Id}", r);
    }

    [WolverinePost("/changes/{id}/stages", OperationId = ChangeActions.RecordStage), Authorize(Policy = Scopes.ChangesStage)]
    public static Task<RecordStageResult> Stage(Guid id, RecordStage body, HttpContext http, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        RecordStageHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverinePost("/changes/{id}/ship", OperationId = ChangeActions.Ship), Authorize(Policy = Scopes.ChangesWrite)]
    public static Task<ShipChangeResult> Ship(Guid id, ShipChange body, HttpContext http, IDocumentStore store, AuditSigner signer,
        TimeProvider clock, CancellationToken ct) =>
        ShipChangeHandler.Handle(id, body, http.Command(), store, signer, clock, ct);

    [WolverinePost("/changes/{id}/rollback", OperationId = ChangeActions.Rollback), Authorize(Policy = Scopes.ChangesWrite)]
    public static Task<ChangeStatusResult> Rollback(Guid id, RollbackChange body, HttpContext http, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        RollbackChangeHandler.Handle(id, body, http.Command(), store, clock, ct);

    /// <summary>Readable by whoever works on changes: proposers (changes:write), stage runners (changes:stage), and tasks:read.</summary>
    [WolverineGet("/changes/{id}", OperationId = "change.get")]
    public static async Task<IResult> Get(Guid id, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases,
        TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        if (MayNotRead(http) is { } forbidden) return forbidden;
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return Results.Ok(await ReadChange.Get(id, session, ct));
    }

    /// <summary>The tenant's changes, oldest first, by status and proposing agent; <c>next</c> is the cursor for <c>after</c>. Read scopes as GET /changes/{id}.</summary>
    [WolverineGet("/changes", OperationId = "change.list")]
    public static async Task<IResult> List(string? status, string? agent, long? after, int? limit, long? minSequence, HttpContext http,
        IValidator<ChangeQuery> validator, IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        if (MayNotRead(http) is { } forbidden) return forbidden;
        var query = new ChangeQuery(status, agent, after, limit);
        var validation = await validator.ValidateAsync(query, ct);
        if (!validation.IsValid) return RequestValidation.Invalid(http, validation);
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return Results.Ok(await ListChanges.Handle(session, query, ct));
    }

    private static IResult? MayNotRead(HttpContext http) =>
        new[] { Scopes.ChangesWrite, Scopes.ChangesStage, Scopes.TasksRead }.Any(http.User.HasScope)
            ? null
            : Results.Problem(statusCode: 403, title: "Forbidden", detail: "reading changes takes changes:write, changes:stage or tasks:read",
                instance: http.Request.Path);
}

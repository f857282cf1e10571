using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Decisions;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Decisions;

/// <summary>Decisions over HTTP: bind, authorise (by attribute), call the use case, answer.</summary>
public static class DecisionEndpoints
{
    [WolverinePost("/decisions", OperationId = DecisionActions.Propose), Authorize(Policy = Scopes.DecisionsWrite)]
    [Microsoft.AspNetCore.Mvc.ProducesResponseType<ProposeDecisionResult>(StatusCodes.Status201Created)]
    public static async Task<IResult> Propose(
        ProposeDecision body, HttpContext http, IDocumentStore store, AutonomySettings settings, TimeProvider clock, CancellationToken ct)
    {
        var r = await ProposeDecisionHandler.Handle(body, http.Command(), store, settings, clock, ct);
        return Results.Created($"/decisions/{r.Id}", r);
    }

    [WolverinePost("/decisions/{id}/approve", OperationId = DecisionActions.Approve), Authorize(Policy = Scopes.DecisionsApprove)]
    public static Task<ReviewDecisionResult> Approve(
        Guid id, ReviewNote body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        ApproveDecisionHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverinePost("/decisions/{id}/reject", OperationId = DecisionActions.Reject), Authorize(Policy = Scopes.DecisionsApprove)]
    public static Task<ReviewDecisionResult> Reject(
        Guid id, ReviewNote body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        RejectDecisionHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverinePost("/decisions/{id}/outcome", OperationId = DecisionActions.Outcome), Authorize(Policy = Scopes.DecisionsWrite)]
    public static Task<RecordOutcomeResult> Outcome(
        Guid id, RecordOutcome body, HttpContext http, IDocumentStore store, AutonomySettings settings, TimeProvider clock,
        CancellationToken ct) =>
        RecordOutcomeHandler.Handle(id, body, http.Command(), store, settings, clock, ct);

    [WolverineGet("/decisions/{id}", OperationId = "decision.get"), Authorize(Policy = Scopes.DecisionsRead)]
    public static async Task<DecisionView> Get(
        Guid id, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, SubjectKeyStore keys,
        TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        return await ReadDecision.Get(id, http.User.Tenant(), http.User.HasScope(Scopes.MemoryRead), store, db, keys, ct);
    }

    [WolverineGet("/decisions", OperationId = "decision.list"), Authorize(Policy = Scopes.DecisionsRead)]
    public static async Task<IResult> List(
        string? status, string? agent, string? category, long? after, int? limit, long? minSequence, HttpContext http,
        IValidator<DecisionQuery> validator, IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        var query = new DecisionQuery(status, agent, category, after, limit);
        var validation = await validator.ValidateAsync(query, ct);
        if (!validation.IsValid) return RequestValidation.Invalid(http, validation);
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return Results.Ok(await ListDecisions.Handle(session, query, ct));
    }
}

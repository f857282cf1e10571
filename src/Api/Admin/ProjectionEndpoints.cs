using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Keys;
using Aetherra.Application.Operations;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Admin;

public static class ProjectionEndpoints
{
    [WolverineGet("/admin/status", OperationId = "admin.status"), Authorize(Policy = Scopes.Operator)]
    public static Task<ServerStatus> Status(ProjectionOperations operations, CancellationToken ct) => operations.StatusAsync(ct);

    [WolverineGet("/admin/projections", OperationId = "projection.list"), Authorize(Policy = Scopes.Operator)]
    public static Task<IReadOnlyList<ProjectionStatus>> Projections(ProjectionOperations operations, CancellationToken ct) =>
        operations.ListAsync(ct);

    [WolverinePost("/admin/projections/{name}/rebuild", OperationId = "projection.rebuild"), Authorize(Policy = Scopes.Operator)]
    public static async Task<IResult> Rebuild(
        string name, RebuildProjection body, HttpContext http, ProjectionOperations operations, CancellationToken ct)
    {
        var jobId = await operations.StartRebuildAsync(name, body, http.User.Tenant(), ct);
        return Results.Accepted($"/admin/jobs/{jobId}", new { jobId });
    }

    /// <summary>Events the async projections skipped (dead letters) that no operator has retried or skipped yet.</summary>
    [WolverineGet("/admin/projections/dead-letters", OperationId = "projection.dead-letter-list"), Authorize(Policy = Scopes.Operator)]
    public static Task<IReadOnlyList<DeadLetterView>> DeadLetterList(DeadLetters deadLetters, CancellationToken ct) =>
        deadLetters.ListAsync(ct);

    [WolverinePost("/admin/projections/dead-letters/{id}/retry", OperationId = "projection.dead-letter-retry"), Authorize(Policy = Scopes.Operator)]
    public static Task<DeadLetterResolved> RetryDeadLetter(Guid id, HttpContext http, DeadLetters deadLetters, CancellationToken ct) =>
        deadLetters.RetryAsync(id, http.Command(), ct);

    [WolverinePost("/admin/projections/dead-letters/{id}/skip", OperationId = "projection.dead-letter-skip"), Authorize(Policy = Scopes.Operator)]
    public static Task<DeadLetterResolved> SkipDeadLetter(Guid id, HttpContext http, DeadLetters deadLetters, CancellationToken ct) =>
        deadLetters.SkipAsync(id, http.Command(), ct);
}

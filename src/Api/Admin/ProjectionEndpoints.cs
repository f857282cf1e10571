using Aetherra.Api.Auth;
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
}

using Aetherra.Api.Auth;
using Aetherra.Application.Exports;
using Aetherra.Application.Keys;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Exports;

/// <summary>Training exports of the caller's tenant (its administrator's): start a job, read its manifest, fetch its files.</summary>
public static class ExportEndpoints
{
    [WolverinePost("/exports", OperationId = "export.start"), Authorize(Policy = Scopes.Admin)]
    public static async Task<IResult> Start(StartExport body, HttpContext http, ExportJobs exports, CancellationToken ct)
    {
        var started = await exports.StartAsync(body, http.User.Tenant(), ct);
        return Results.Accepted($"/exports/{started.Id}", started);
    }

    [WolverineGet("/exports/{id}", OperationId = "export.get"), Authorize(Policy = Scopes.Admin)]
    public static Task<ExportView> Get(Guid id, HttpContext http, ExportJobs exports, CancellationToken ct) =>
        exports.GetAsync(id, http.User.Tenant(), ct);

    /// <summary>A file of a finished export, byte for byte as its manifest hashed it (JSON Lines, or the manifest).</summary>
    [WolverineGet("/exports/{id}/files/{name}", OperationId = "export.file"), Authorize(Policy = Scopes.Admin)]
    public static async Task<IResult> File(Guid id, string name, HttpContext http, ExportJobs exports, CancellationToken ct) =>
        Results.File(await exports.FileAsync(id, name, http.User.Tenant(), ct),
            name.EndsWith(".jsonl", StringComparison.Ordinal) ? "application/jsonl" : "application/json", name);
}

using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Memory;
using Aetherra.Application.Recall;
using Aetherra.Infrastructure.Jobs;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Wolverine.Http;

namespace Aetherra.Api.Memory;

public static class RecallEndpoints
{
    /// <summary>A query sent as POST (its filters do not fit a URL well): not a command, so not audited.</summary>
    [WolverinePost("/recall", OperationId = "memory.recall"), Authorize(Policy = Scopes.MemoryRead), QueryOverPost]
    public static Task<RecallResponse> Recall(RecallRequest body, HttpContext http, RecallQuery recall, CancellationToken ct) =>
        recall.RunAsync(http.User.Tenant(), body, ct);

    /// <summary>
    /// How the configured shadow ranking compares with the live one over the sampled recalls of the caller's
    /// tenant: overlap@10, rank correlation, and each one's recall on the memories usage showed relevant
    /// (reinforced within <c>windowHours</c>, default 24, of the recall). A query, not audited.
    /// </summary>
    [WolverineGet("/recall/shadow", OperationId = "memory.recall-shadow"), Authorize(Policy = Scopes.MemoryRead),
     ProducesResponseType<RecallShadowReport>(200), ProducesResponseType<HttpValidationProblemDetails>(400)]
    public static async Task<IResult> Shadow(HttpContext http, RecallShadow shadow, CancellationToken ct, double? windowHours = null)
    {
        if (windowHours is { } w && !(w is > 0 and <= 24 * 90))
            return Results.ValidationProblem(new Dictionary<string, string[]>
            {
                ["windowHours"] = ["'windowHours' must be more than 0 and at most 2160 (90 days)."]
            }, instance: http.Request.Path);
        return Results.Ok(await shadow.ReportAsync(http.User.Tenant(), TimeSpan.FromHours(windowHours ?? 24), ct));
    }

    /// <summary>The current memories a filter accepts, newest first (the same filter as recall's; a query, not audited).</summary>
    [WolverinePost("/memories/list", OperationId = "memory.list"), Authorize(Policy = Scopes.MemoryRead), QueryOverPost]
    public static Task<ListMemoriesResponse> List(ListMemoriesRequest body, HttpContext http, ListMemories list, CancellationToken ct) =>
        list.RunAsync(http.User.Tenant(), body, ct);

    [WolverinePost("/memories/{id}/reinforce", OperationId = MemoryActions.Reinforce), Authorize(Policy = Scopes.MemoryWrite)]
    public static Task<ReinforceMemoryResult> Reinforce(
        Guid id, ReinforceMemory body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        ReinforceMemoryHandler.Handle(id, body, http.Command(), store, clock, ct);

    /// <summary>
    /// Applies the archive policy now (compaction tiers): the current memories of the subject (or of every subject)
    /// older than olderThanDays (default 180) that recall never returned and nobody reinforced move to the archive
    /// tier, as events. Excluded from recall unless it asks for tiers ["archive"]; a reinforcement restores one.
    /// </summary>
    [WolverinePost("/memories/archive", OperationId = "memory.archive"), Authorize(Policy = Scopes.MemoryWrite)]
    public static Task<ArchiveMemoriesResult> Archive(ArchiveMemoriesRequest body, HttpContext http, ArchiveMemories archive, CancellationToken ct) =>
        archive.RunAsync(body, http.Command(), ct);

    [WolverinePost("/memories/consolidate", OperationId = MemoryActions.Consolidate), Authorize(Policy = Scopes.MemoryWrite)]
    public static async Task<IResult> Consolidate(
        ConsolidateMemoriesRequest body, HttpContext http, ConsolidateMemories consolidation, CancellationToken ct)
    {
        var jobId = await consolidation.StartAsync(body, http.Command(), ct);
        return Results.Accepted($"/memories/consolidate/{jobId}", new { jobId });
    }

    [WolverineGet("/memories/consolidate/{jobId}", OperationId = "memory.consolidation"), Authorize(Policy = Scopes.MemoryRead)]
    public static async Task<JobView> Consolidation(Guid jobId, HttpContext http, JobRunner jobs, CancellationToken ct) =>
        await jobs.FindAsync(jobId, http.User.Tenant(), ct) is { Kind: "memory.consolidate" } job ? job : throw new NotFound("job");

    /// <summary>The operator reads any job; a tenant's administrator only its own tenant's (another's is 404).</summary>
    [WolverineGet("/admin/jobs/{jobId}", OperationId = "job.get"), Authorize(Policy = Policies.AdminOrOperator)]
    public static async Task<JobView> Job(Guid jobId, HttpContext http, JobRunner jobs, CancellationToken ct) =>
        await jobs.FindAsync(jobId, http.User.HasScope(Scopes.Operator) ? null : http.User.Tenant(), ct) ?? throw new NotFound("job");
}

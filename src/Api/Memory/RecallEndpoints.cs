using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Keys;
using Aetherra.Application.Recall;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Memory;

public static class RecallEndpoints
{
    /// <summary>A query sent as POST (its filters do not fit a URL well): not a command, so not audited.</summary>
    [WolverinePost("/recall", OperationId = "memory.recall"), Authorize(Policy = Scopes.MemoryRead), QueryOverPost]
    public static Task<RecallResponse> Recall(RecallRequest body, HttpContext http, RecallQuery recall, CancellationToken ct) =>
        recall.RunAsync(http.User.Tenant(), body, ct);
}

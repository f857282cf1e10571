using Aetherra.Api.Auth;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Learning;
using Aetherra.Infrastructure.Database;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Decisions;

public static class LearningEndpoints
{
    /// <summary>The learning loop is async: minSequence waits (bounded) until it has folded the client's own writes.</summary>
    [WolverineGet("/learning/{agent}", OperationId = "learning.get"), Authorize(Policy = Scopes.DecisionsRead)]
    public static async Task<AgentLearning> Get(
        string agent, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, TimeProvider clock,
        CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForProjectionAsync(db, LearningLoopProjection.ProjectionName, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return await ReadLearning.Handle(session, agent, ct);
    }
}

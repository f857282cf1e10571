using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.SelfModel;
using Aetherra.Infrastructure.Database;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.SelfModel;

/// <summary>The system's model of itself over HTTP: take a snapshot (operator), read the caller's tenant's part.</summary>
public static class SelfEndpoints
{
    [WolverinePost("/self/snapshot", OperationId = TakeSelfSnapshot.Action), Authorize(Policy = Scopes.Operator)]
    public static Task<SelfSnapshotResult> Snapshot(HttpContext http, TakeSelfSnapshot snapshot, CancellationToken ct)
    {
        var command = http.Command();
        return snapshot.HandleAsync(command.Actor, command.RequestId, ct);
    }

    [WolverineGet("/self", OperationId = "self.get"), Authorize(Policy = Scopes.DecisionsRead)]
    public static async Task<SelfView> Get(
        long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForProjectionAsync(db, SelfModelProjection.ProjectionName, minSequence, clock, ct);
        return await ReadSelf.Handle(http.User.Tenant(), store, ct);
    }
}

using Aetherra.Application.Keys;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Cluster;

public static class ClusterEndpoints
{
    /// <summary>The installation's nodes: when each was last seen, which leads, and what runs where (operator).</summary>
    [WolverineGet("/admin/cluster", OperationId = "cluster.read"), Authorize(Policy = Scopes.Operator)]
    public static Task<ClusterView> Read(ClusterMembership cluster, CancellationToken ct) => cluster.ReadAsync(ct);
}

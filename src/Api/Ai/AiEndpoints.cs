using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Ai;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Database;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Ai;

/// <summary>The provider chain (the installation's operator) and the tenant's model usage.</summary>
public static class AiEndpoints
{
    [WolverinePut("/admin/ai/providers", OperationId = Application.Conversations.ConversationActions.ConfigureProviders),
     Authorize(Policy = Scopes.Operator)]
    public static Task<ProvidersView> Configure(
        ConfigureProviders body, HttpContext http, IDocumentStore store, AiProviders providers, TimeProvider clock, CancellationToken ct) =>
        ConfigureProvidersHandler.Handle(body, http.Command(), store, providers, clock, ct);

    [WolverineGet("/admin/ai/providers", OperationId = "ai.providers"), Authorize(Policy = Scopes.Operator)]
    public static Task<ProvidersView> Providers(AiProviders providers, CancellationToken ct) => ConfigureProvidersHandler.Read(providers, ct);

    [WolverineGet("/ai/usage", OperationId = "ai.usage"), Authorize(Policy = Scopes.ConversationsRead)]
    public static async Task<UsageView> Usage(
        long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForProjectionAsync(db, AiUsageProjection.ProjectionName, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return await ReadUsage.Handle(session, ct);
    }
}

using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Keys;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Admin;

public static class KeyEndpoints
{
    [WolverinePost("/admin/keys", OperationId = KeyActions.Create), Authorize(Policy = Policies.AdminOrOperator)]
    [Microsoft.AspNetCore.Mvc.ProducesResponseType<CreatedApiKey>(StatusCodes.Status201Created)]
    public static async Task<IResult> Create(
        CreateApiKey body, HttpContext http, ApiKeyStore keys, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var created = await ApiKeyHandlers.Create(body, http.User.Caller(), http.Command(), keys, store, clock, ct);
        return Results.Created($"/admin/keys/{created.Id}", created);
    }

    [WolverineDelete("/admin/keys/{id}", OperationId = KeyActions.Revoke), Authorize(Policy = Policies.AdminOrOperator)]
    public static async Task<IResult> Revoke(
        Guid id, HttpContext http, ApiKeyStore keys, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var sequence = await ApiKeyHandlers.Revoke(id, http.User.Caller(), http.Command(), keys, store, clock, ct);
        return Results.Ok(new { id, status = "revoked", sequence });
    }
}

using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Homeostasis;
using Aetherra.Application.Keys;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Homeostasis;

public static class HomeostasisEndpoints
{
    [WolverineGet("/homeostasis", OperationId = "homeostasis.get"), Authorize(Policy = Scopes.HomeostasisRead)]
    public static Task<HomeostasisReport> Get(HttpContext http, IDocumentStore store, HomeostasisSettings settings, CancellationToken ct) =>
        ReadHomeostasis.Get(store, settings, http.User.Tenant(), http.User.HasScope(Scopes.Operator), ct);

    [WolverinePut("/homeostasis/setpoints/{vital}", OperationId = ChangeSetpointHandler.Action), Authorize(Policy = Scopes.Operator)]
    public static async Task<IResult> ChangeSetpoint(
        string vital, ChangeSetpoint body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        if (!ChangeSetpointHandler.IsKnownVital(vital, store))
            return RequestValidation.Invalid(http, new Dictionary<string, string[]>
            {
                ["vital"] = [$"'{vital}' is not a vital this system samples (docs/operations.md lists them)."]
            });
        return Results.Ok(await ChangeSetpointHandler.Handle(vital, body, http.Command(), store, clock, ct));
    }
}

using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Homeostasis;
using Aetherra.Application.Keys;
using FluentValidation;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Homeostasis;

public static class HomeostasisEndpoints
{
    [WolverineGet("/homeostasis", OperationId = "homeostasis.get"), Authorize(Policy = Scopes.HomeostasisRead)]
    public static Task<HomeostasisReport> Get(HttpContext http, IDocumentStore store, HomeostasisSettings settings, CancellationToken ct) =>
        ReadHomeostasis.Get(store, settings, http.User.Tenant(), http.User.HasScope(Scopes.Operator), ct);

    /// <summary>One vital over the last hour, day or week, per node (or one node), with its setpoint band and deviations.</summary>
    [WolverineGet("/homeostasis/vitals/{name}/history", OperationId = "homeostasis.vital-history"), Authorize(Policy = Scopes.HomeostasisRead)]
    public static async Task<IResult> History(
        string name, string? window, string? node, HttpContext http, IValidator<VitalHistoryQuery> validator, IDocumentStore store,
        HomeostasisSettings settings, TimeProvider clock, CancellationToken ct)
    {
        var query = new VitalHistoryQuery(name, window, node);
        var validation = await validator.ValidateAsync(query, ct);
        if (!validation.IsValid) return RequestValidation.Invalid(http, validation);
        return Results.Ok(await ReadVitalHistory.Get(store, settings, query, clock.GetUtcNow(), ct));
    }

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

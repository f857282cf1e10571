using System.Text.RegularExpressions;
using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Plugins;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Plugins;

/// <summary>
/// The trust store takes the <c>admin</c> scope, not <c>plugins:admin</c>: who may vouch for publishers is kept
/// apart from who may register their plugins, so a plugins:admin key cannot trust its own signing key.
/// </summary>
public static partial class TrustEndpoints
{
    [WolverinePost("/trust/publishers", OperationId = PluginActions.TrustPublisher), Authorize(Policy = Scopes.Admin)]
    public static async Task<IResult> Trust(
        TrustPublisher body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var r = await TrustPublisherHandler.Handle(body, http.Command(), store, clock, ct);
        return Results.Created($"/trust/publishers/{r.KeyId}", new { keyId = r.KeyId, status = "trusted", sequence = r.Sequence });
    }

    [WolverineGet("/trust/publishers", OperationId = "trust.publisher-list"), Authorize(Policy = Scopes.PluginsRead)]
    public static async Task<object> List(HttpContext http, IDocumentStore store, CancellationToken ct) =>
        new { items = await ReadPlugins.Publishers(http.User.Tenant(), store, ct) };

    [WolverineDelete("/trust/publishers/{id}", OperationId = PluginActions.RevokePublisher), Authorize(Policy = Scopes.Admin)]
    public static async Task<IResult> Revoke(
        string id, string? reason, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        if (reason?.Length > PluginLimits.MaxReasonLength)
            return RequestValidation.Invalid(http, new Dictionary<string, string[]>
            {
                ["reason"] = [$"The length of 'Reason' must be {PluginLimits.MaxReasonLength} characters or fewer."]
            });
        // An id that cannot be a key id names no key: the same 404 as an unknown one.
        if (!KeyIdPattern().IsMatch(id)) throw new NotFound("publisher key");
        var r = await RevokePublisherHandler.Handle(id, reason, http.Command(), store, clock, ct);
        return Results.Ok(new { keyId = r.KeyId, status = r.Status, pluginsDisabled = r.PluginsDisabled, disabled = r.Disabled, changesAffected = r.ChangesAffected, sequence = r.Sequence });
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex KeyIdPattern();
}

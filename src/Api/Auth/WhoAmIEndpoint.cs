using System.Security.Claims;
using Aetherra.Application.Keys;
using Wolverine.Http;

namespace Aetherra.Api.Auth;

public sealed record WhoAmI(string KeyId, string Name, string Tenant, IReadOnlyList<string> Scopes, IReadOnlyList<string> Grants);

/// <summary>
/// What the caller's key is: any valid key may ask (the fallback policy authenticates). <c>grants</c> is every
/// scope the key passes (admin implies its tenant's scopes), so a client such as the console shows only what the
/// key may do without repeating the rule.
/// </summary>
public static class WhoAmIEndpoint
{
    [WolverineGet("/whoami", OperationId = "auth.whoami")]
    public static WhoAmI Get(HttpContext http)
    {
        var held = http.User.FindAll(ApiKeyAuthentication.ScopeClaim).Select(c => c.Value).ToList();
        return new WhoAmI(http.User.KeyId(), http.User.FindFirst(ClaimTypes.Name)?.Value ?? "", http.User.Tenant(), held,
            Application.Keys.Scopes.All.Where(s => Application.Keys.Scopes.Grants(held, s)).ToList());
    }
}

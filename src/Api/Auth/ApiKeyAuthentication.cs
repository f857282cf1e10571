using System.Security.Claims;
using System.Text.Encodings.Web;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Keys;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Aetherra.Api.Auth;

/// <summary>Bearer API keys: the key names its tenant and scopes; nothing else identifies a caller.</summary>
public sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, AuthenticationLoggers loggers, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, Infrastructure.MeasurementSwitches.PerRequestAuthLogger ? logger : loggers, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string TenantClaim = "tenant";
    public const string ScopeClaim = "scope";
    /// <summary>The key's own rate limit, "permitsPerSecond burst" (invariant), when it has one.</summary>
    public const string RateLimitClaim = "rate-limit";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header)) return AuthenticateResult.NoResult();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.Fail("the Authorization header must be 'Bearer <key>'");

        var key = await keys.FindAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        if (key is null) return AuthenticateResult.Fail("unknown or revoked key");

        return AuthenticateResult.Success(new AuthenticationTicket(Principal(key), SchemeName));
    }

    /// <summary>The caller a key stands for, whatever the channel (HTTP here, MCP over stdio in Mcp/McpStdio).</summary>
    public static ClaimsPrincipal Principal(ApiKey key)
    {
        // Sized for all of them: the list never grows (a copy per request, seen under GC polls in the profile).
        var claims = new List<Claim>(4 + key.Scopes.Count)
        {
            new(ClaimTypes.NameIdentifier, key.Id.ToString()),
            new(ClaimTypes.Name, key.Name),
            new(TenantClaim, key.Tenant)
        };
        claims.AddRange(key.Scopes.Select(s => new Claim(ScopeClaim, s)));
        if (key.RateLimit is { } limit)
            claims.Add(new Claim(RateLimitClaim, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{limit.PermitsPerSecond} {limit.Burst}")));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.Write(Context, StatusCodes.Status401Unauthorized, "Unauthorized",
            "A valid API key is required: Authorization: Bearer <key>.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var wanted = Context.GetEndpoint()?.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>()
            .Select(a => a.Policy).FirstOrDefault(p => p is not null);
        return Problems.Write(Context, StatusCodes.Status403Forbidden, "Forbidden",
            wanted is null ? "The key lacks the scope this route needs." : $"The key lacks the scope '{wanted}'.");
    }
}

/// <summary>
/// The logger factory the authentication handler is given. ASP.NET Core makes the handler anew for every request, and its
/// constructor asks the factory for a logger by the handler's name; Serilog's factory makes a new logger (and a context
/// enricher) for every such call: a few allocations and 3 % of a cheap request's CPU, for the same logger each time
/// (docs/benchmarks.md, "The request pipeline's CPU"). This one makes each category's logger once.
/// </summary>
public sealed class AuthenticationLoggers(ILoggerFactory inner) : ILoggerFactory
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, inner.CreateLogger);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>The inner factory belongs to the container: not disposed here.</summary>
    public void Dispose() { }
}

/// <summary>Policies beyond the one per scope (those are named after their scope).</summary>
public static class Policies
{
    /// <summary>Key administration and jobs: a tenant's administrator for its own tenant, the operator for any.</summary>
    public const string AdminOrOperator = "admin or operator";
}

public static class CallerExtensions
{
    public static Application.Keys.Caller Caller(this ClaimsPrincipal user) => new(user.Tenant(), user.HasScope(Scopes.Operator));

    public static string Tenant(this ClaimsPrincipal user) =>
        user.FindFirst(ApiKeyAuthentication.TenantClaim)?.Value ?? throw new InvalidOperationException("no tenant claim");

    public static string KeyId(this ClaimsPrincipal user) =>
        user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? throw new InvalidOperationException("no key id claim");

    public static bool HasScope(this ClaimsPrincipal user, string scope) =>
        Scopes.Grants(user.FindAll(ApiKeyAuthentication.ScopeClaim).Select(c => c.Value), scope);
}

using Aetherra.Infrastructure.Database;
using Npgsql;

namespace Aetherra.Api.Health;

/// <summary>Open probes (no key): liveness is the process; readiness is the store reachable with its schema.</summary>
public static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" })).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/health/ready", async (TenantDatabases db, CancellationToken ct) =>
        {
            try
            {
                return await DatabaseBootstrap.IsReadyAsync(db, ct)
                    ? Results.Ok(new { status = "ready" })
                    : Results.Problem(statusCode: 503, title: "Schema not applied");
            }
            catch (Exception e) when (StoreFailures.IsUnavailable(e))
            {
                return Results.Problem(statusCode: 503, title: "Store unavailable");
            }
        }).AllowAnonymous().ExcludeFromDescription();
    }
}

using System.Globalization;
using System.Threading.RateLimiting;
using Aetherra.Api.Auth;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Keys;
using Microsoft.AspNetCore.RateLimiting;

namespace Aetherra.Api.Http;

/// <summary>
/// ASP.NET Core's rate limiter, two token buckets chained: one per key (the key's own <c>rateLimit</c>, else the
/// configured default) and one per tenant (all its keys together). Requests without a key (probes, scrapers,
/// 401s) are not limited here. Over either: 429 problem with Retry-After. It runs inside the audit layer, so a
/// refused command is audited like any refused command, and a 429 releases its Idempotency-Key.
/// </summary>
public static class RateLimiting
{
    public static IServiceCollection AddAetherraRateLimiting(this IServiceCollection services, RateLimitSettings settings)
    {
        services.AddSingleton(settings);
        if (!settings.Enabled) return services;
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(http => PerKey(http, settings.PerKey)),
                PartitionedRateLimiter.Create<HttpContext, string>(http => PerTenant(http, settings.PerTenant)));
            o.OnRejected = (context, _) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after)
                    ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(Problems.Write(context.HttpContext, StatusCodes.Status429TooManyRequests, "Too many requests",
                    $"This key or its tenant is over its rate limit; retry after {seconds} s."));
            };
        });
        return services;
    }

    public static IApplicationBuilder UseAetherraRateLimiting(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<RateLimitSettings>().Enabled ? app.UseRateLimiter() : app;

    private static RateLimitPartition<string> PerKey(HttpContext http, KeyRateLimit? fallback)
    {
        if (http.User.Identity?.IsAuthenticated != true) return RateLimitPartition.GetNoLimiter("");
        var own = http.User.FindFirst(ApiKeyAuthentication.RateLimitClaim)?.Value;
        var limit = own is null ? fallback : Parse(own);
        // The limit is part of the partition: a key's bucket is made once, with its own shape.
        return limit is null
            ? RateLimitPartition.GetNoLimiter("")
            : RateLimitPartition.GetTokenBucketLimiter($"key {http.User.KeyId()} {own}", _ => Bucket(limit));
    }

    private static RateLimitPartition<string> PerTenant(HttpContext http, KeyRateLimit? limit) =>
        http.User.Identity?.IsAuthenticated != true || limit is null
            ? RateLimitPartition.GetNoLimiter("")
            : RateLimitPartition.GetTokenBucketLimiter("tenant " + http.User.Tenant(), _ => Bucket(limit));

    private static KeyRateLimit Parse(string claim)
    {
        var parts = claim.Split(' ');
        return new KeyRateLimit(double.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The bucket refills every 100 ms when the rate is a multiple of 10 per second, every second for other
    /// rates of 1 or more (rounded to whole requests), and one request at a time below 1 per second.
    /// </summary>
    public static TokenBucketRateLimiterOptions Bucket(KeyRateLimit limit)
    {
        var permits = limit.PermitsPerSecond;
        var (period, tokens) = permits >= 10 && permits % 10 == 0 ? (TimeSpan.FromMilliseconds(100), (int)(permits / 10))
            : permits >= 1 ? (TimeSpan.FromSeconds(1), (int)Math.Round(permits))
            : (TimeSpan.FromSeconds(1 / permits), 1);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit.Burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }
}

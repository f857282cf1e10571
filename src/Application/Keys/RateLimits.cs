using System.Globalization;
using Aetherra.Infrastructure.Keys;
using Microsoft.Extensions.Configuration;

namespace Aetherra.Application.Keys;

/// <summary>
/// Token buckets per key and per tenant (docs/operations.md, "Rate limits"). From configuration:
/// AETHERRA_RATE_LIMIT (<c>off</c> turns both off), AETHERRA_RATE_LIMIT_KEY_PER_SECOND / _KEY_BURST (default
/// 1000 / 2000: a key's default, unless the key has its own <c>rateLimit</c>), AETHERRA_RATE_LIMIT_TENANT_PER_SECOND
/// / _TENANT_BURST (default 4000 / 8000, all keys of a tenant together). A per-second value of 0 turns that
/// bucket off. The defaults are far above what one key of the benchmarks or the tests asks for.
/// </summary>
public sealed record RateLimitSettings(bool Enabled, KeyRateLimit? PerKey, KeyRateLimit? PerTenant)
{
    public const double MaxPermitsPerSecond = 1_000_000;
    public const int MaxBurst = 10_000_000;

    public static RateLimitSettings From(IConfiguration config)
    {
        double Number(string name, double fallback)
        {
            var text = config[name];
            if (string.IsNullOrWhiteSpace(text)) return fallback;
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && v >= 0
                ? v : throw new InvalidOperationException($"{name} must be a number of 0 or more, not '{text}'");
        }
        KeyRateLimit? Bucket(string prefix, double permits, double burst)
        {
            var (p, b) = (Number(prefix + "_PER_SECOND", permits), Number(prefix + "_BURST", burst));
            if (p == 0) return null;
            if (p > MaxPermitsPerSecond || b < 1 || b > MaxBurst)
                throw new InvalidOperationException($"{prefix}_PER_SECOND must be at most {MaxPermitsPerSecond} and {prefix}_BURST 1 to {MaxBurst}");
            return new KeyRateLimit(p, (int)b);
        }
        var enabled = !string.Equals(config["AETHERRA_RATE_LIMIT"], "off", StringComparison.OrdinalIgnoreCase);
        return new RateLimitSettings(enabled,
            Bucket("AETHERRA_RATE_LIMIT_KEY", 1000, 2000), Bucket("AETHERRA_RATE_LIMIT_TENANT", 4000, 8000));
    }
}

/// <summary>A key's own limit on POST /admin/keys: <c>rateLimit: {permitsPerSecond, burst}</c>.</summary>
public sealed record RateLimitRequest(double? PermitsPerSecond, int? Burst);

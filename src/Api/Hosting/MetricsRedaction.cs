using System.Globalization;
using System.Text;
using Aetherra.Api.Auth;
using Aetherra.Application.Keys;

namespace Aetherra.Api.Hosting;

/// <summary>
/// /metrics is open to scrapers but names no tenant (API.md): Marten and Wolverine label some series with the
/// tenant. Unless the caller's key holds <c>operator</c>, every label whose name contains "tenant" is dropped
/// and the series that then coincide are summed (counters, histogram buckets, sums and counts add up across
/// tenants; so do the few per-tenant gauges), so the totals stay right and no tenant is named.
/// </summary>
public sealed class MetricsRedaction(RequestDelegate next)
{
    public const string Path = "/metrics";

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.Equals(Path, StringComparison.Ordinal) || context.User.HasScope(Scopes.Operator))
        {
            await next(context);
            return;
        }
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
        var redacted = Encoding.UTF8.GetBytes(Redact(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length)));
        context.Response.ContentLength = redacted.Length;
        await original.WriteAsync(redacted, context.RequestAborted);
    }

    /// <summary>Prometheus (or OpenMetrics) text without tenant labels, coinciding samples summed.</summary>
    public static string Redact(string text)
    {
        var lines = new List<string>();
        var samples = new Dictionary<string, (int Line, double Value, string Tail)>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || line.Length == 0)
            {
                lines.Add(line);
                continue;
            }
            if (!TrySplit(line, out var series, out var number, out var rest))
            {
                // Not a sample this parser knows: kept only if it cannot name a tenant.
                if (!line.Contains("tenant", StringComparison.OrdinalIgnoreCase)) lines.Add(line);
                continue;
            }
            if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                lines.Add(series + " " + number + rest);
                continue;
            }
            if (samples.TryGetValue(series, out var seen))
                samples[series] = (seen.Line, seen.Value + value, seen.Tail);
            else
            {
                samples[series] = (lines.Count, value, rest);
                lines.Add("");
            }
        }
        foreach (var (series, (line, value, rest)) in samples)
            lines[line] = series + " " + value.ToString("R", CultureInfo.InvariantCulture) + rest;
        return string.Join('\n', lines);
    }

    /// <summary>"name{labels} value[ timestamp]" into the series without tenant labels, the value as written, and the rest.</summary>
    private static bool TrySplit(string line, out string series, out string number, out string rest)
    {
        series = rest = number = "";
        var brace = line.IndexOf('{');
        var space = line.IndexOf(' ');
        if (space < 0) return false;
        var kept = new List<string>();
        int after;
        if (brace >= 0 && brace < space)
        {
            var i = brace + 1;
            while (i < line.Length && line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"') return false;
                var j = eq + 2;
                while (j < line.Length && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
                if (j >= line.Length) return false;
                var name = line[i..eq].Trim();
                if (!name.Contains("tenant", StringComparison.OrdinalIgnoreCase)) kept.Add(line[i..(j + 1)].Trim());
                i = j + 1;
                if (i < line.Length && line[i] == ',') i++;
            }
            if (i >= line.Length) return false;
            series = line[..brace] + (kept.Count == 0 ? "" : "{" + string.Join(',', kept) + "}");
            after = i + 1;
        }
        else
        {
            series = line[..space];
            after = space;
        }
        var tail = line[after..].TrimStart();
        var end = tail.IndexOf(' ');
        number = end < 0 ? tail : tail[..end];
        rest = end < 0 ? "" : tail[end..];
        return number.Length > 0;
    }
}

using System.Collections.Frozen;
using System.Reflection;
using Microsoft.Extensions.Primitives;

namespace Aetherra.Api.OperatorConsole;

/// <summary>
/// The operator console: hand-written HTML, CSS and ES modules embedded in the executable (OperatorConsole/assets),
/// served without a key. Only the page and its assets are open; every call the page makes carries the key
/// the user typed, kept in the tab's sessionStorage. The policy allows nothing but this origin: no inline
/// script or style, no third-party origin, no framing.
/// </summary>
public static class ConsoleEndpoints
{
    public const string Policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const string Prefix = "console/";

    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8", [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8", [".svg"] = "image/svg+xml", [".png"] = "image/png",
    }.ToFrozenDictionary();

    /// <summary>Every asset, read once: the set is small and fixed at build time.</summary>
    private static readonly FrozenDictionary<string, byte[]> Assets = Load(typeof(ConsoleEndpoints).Assembly);

    public static void MapConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet("/console", (HttpContext http) => Serve(http, "index.html")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/console/{*file}", (string file, HttpContext http) => Serve(http, file)).AllowAnonymous().ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext http, string file)
    {
        if (file.Length == 0) file = "index.html";
        if (!Assets.TryGetValue(file, out var bytes) || !Types.TryGetValue(Path.GetExtension(file), out var type))
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"The console has no file '{file}'.");
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = Policy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        // The files change only with the executable; "no-cache" revalidates, so an upgrade is seen at once.
        headers.CacheControl = new StringValues("no-cache");
        return Results.Bytes(bytes, type);
    }

    private static FrozenDictionary<string, byte[]> Load(Assembly assembly) =>
        assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).ToFrozenDictionary(
            n => n[Prefix.Length..],
            n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                return copy.ToArray();
            }, StringComparer.Ordinal);
}

using System.Text.RegularExpressions;

namespace Aetherra.Domain.Plugins;

/// <summary>Semantic Versioning 2.0.0: the grammar and the precedence rules (build metadata is ignored).</summary>
public static partial class SemVer
{
    [GeneratedRegex(@"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")]
    private static partial Regex Grammar();

    public static bool IsValid(string? version) => version is { Length: <= 64 } && Grammar().IsMatch(version);

    public static int Compare(string a, string b)
    {
        var x = Grammar().Match(a);
        var y = Grammar().Match(b);
        if (!x.Success || !y.Success) throw new ArgumentException("not a semantic version");
        for (var i = 1; i <= 3; i++)
        {
            var c = CompareNumeric(x.Groups[i].Value, y.Groups[i].Value);
            if (c != 0) return c;
        }
        var (pa, pb) = (x.Groups[4].Value, y.Groups[4].Value);
        // A pre-release has lower precedence than its release.
        if (pa.Length == 0 || pb.Length == 0) return pa.Length == pb.Length ? 0 : pa.Length == 0 ? 1 : -1;
        var ia = pa.Split('.');
        var ib = pb.Split('.');
        for (var i = 0; i < Math.Min(ia.Length, ib.Length); i++)
        {
            var na = ia[i].All(char.IsAsciiDigit);
            var nb = ib[i].All(char.IsAsciiDigit);
            var c = (na, nb) switch
            {
                (true, true) => CompareNumeric(ia[i], ib[i]),
                (true, false) => -1,
                (false, true) => 1,
                _ => string.CompareOrdinal(ia[i], ib[i]),
            };
            if (c != 0) return Math.Sign(c);
        }
        return ia.Length.CompareTo(ib.Length);
    }

    private static int CompareNumeric(string a, string b) =>
        a.Length != b.Length ? a.Length.CompareTo(b.Length) : Math.Sign(string.CompareOrdinal(a, b));
}

using System.Reflection;

namespace Aetherra.Architecture.Tests;

/// <summary>
/// Checks the assembly references the compiler wrote into an assembly's metadata: a project reference
/// or package whose types the code never uses leaves no trace there, one it uses does.
/// </summary>
public static class References
{
    /// <summary>The referenced assemblies of <paramref name="assembly"/> that any pattern forbids, by name.</summary>
    public static IReadOnlyList<string> Violations(Assembly assembly, IEnumerable<string> forbidden) =>
        assembly.GetReferencedAssemblies()
            .Select(reference => reference.Name!)
            .Where(name => forbidden.Any(pattern => Matches(name, pattern)))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// "Marten*" matches every name starting with Marten; a pattern without '*' is one exact name. Ordinal
    /// and case-sensitive, because the Api assembly is "aetherra" and must not match "Aetherra.Domain".
    /// </summary>
    public static bool Matches(string name, string pattern) =>
        pattern.EndsWith('*')
            ? name.StartsWith(pattern[..^1], StringComparison.Ordinal)
            : string.Equals(name, pattern, StringComparison.Ordinal);
}

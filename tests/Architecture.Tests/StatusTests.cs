using System.Reflection;

namespace Aetherra.Architecture.Tests;

/// <summary>
/// Application knows no HTTP status: a use case ends with an <c>Outcome</c>, and the Api's one table
/// (<c>Api/Http/OutcomeStatus.cs</c>) turns it into the status answered and audited.
/// </summary>
public sealed class StatusTests
{
    /// <summary>
    /// The audit trail and a script's step record store a status the edge's table chose (API.md promises it in
    /// GET /audit and a run's steps): keeping one is not choosing one.
    /// </summary>
    private static readonly string[] Keepers =
    [
        "Aetherra.Application.Common.AuditTrail.Accepted",
        "Aetherra.Application.Common.AuditTrail.RecordEndingAsync",
        "Aetherra.Application.Common.AuditTrail.Record",
        "Aetherra.Application.Scripts.ScriptSteps.RecordAsync",
    ];

    [Fact]
    public void no_application_method_takes_a_status_but_those_that_keep_one()
    {
        Assert.Empty(StatusParameters.Of(Assemblies.Application).Except(Keepers));
    }

    [Fact]
    public void the_application_references_no_http_framework_to_take_a_status_code_from()
    {
        Assert.Empty(References.Violations(Assemblies.Application, ["Microsoft.AspNetCore*"]));
    }

    [Fact]
    public void the_check_finds_a_method_that_takes_a_status()
    {
        Assert.Equal([$"{typeof(Violator).FullName}.Commit"], StatusParameters.Of(typeof(Violator)));
    }

    [Fact]
    public void the_check_finds_a_method_that_takes_a_status_in_the_api_which_may()
    {
        Assert.Contains("Aetherra.Api.Problems.Write", StatusParameters.Of(Assemblies.Api));
    }

    private static class Violator
    {
        public static void Commit(string target, int status) { }

        public static void Fine(string target, int count) { }
    }
}

/// <summary>Methods with an integer parameter named like a status (status, statusCode, httpStatus...).</summary>
internal static class StatusParameters
{
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance |
                                     BindingFlags.DeclaredOnly;

    public static IReadOnlyList<string> Of(Assembly assembly) => assembly.GetTypes().SelectMany(Of).Distinct().ToList();

    public static IReadOnlyList<string> Of(Type type) => type.GetMethods(All)
        .Where(m => !m.IsSpecialName && !m.Name.Contains('<'))
        .Where(m => m.GetParameters().Any(p => (Nullable.GetUnderlyingType(p.ParameterType) ?? p.ParameterType) == typeof(int)
                                             && (p.Name ?? "").Contains("status", StringComparison.OrdinalIgnoreCase)))
        .Select(m => $"{type.FullName}.{m.Name}")
        .ToList();
}

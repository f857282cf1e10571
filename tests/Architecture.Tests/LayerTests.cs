using System.Reflection;

namespace Aetherra.Architecture.Tests;

public sealed class LayerTests
{
    [Fact]
    public void the_assemblies_checked_are_the_ones_the_rules_name()
    {
        Assert.Equal("Aetherra.Domain", Assemblies.Domain.GetName().Name);
        Assert.Equal("Aetherra.Application", Assemblies.Application.GetName().Name);
        Assert.Equal("Aetherra.Infrastructure", Assemblies.Infrastructure.GetName().Name);
        Assert.Equal(Assemblies.ApiName, Assemblies.Api.GetName().Name);
        Assert.Equal("Aetherra.Architecture.Tests", Assemblies.Tests.GetName().Name);
    }

    [Fact]
    public void the_domain_references_no_persistence_messaging_or_web_framework()
    {
        Assert.Empty(References.Violations(Assemblies.Domain, Rules.DomainFrameworks));
    }

    [Fact]
    public void the_domain_references_no_other_aetherra_assembly()
    {
        Assert.Empty(References.Violations(Assemblies.Domain, Rules.DomainSiblings));
    }

    [Fact]
    public void infrastructure_references_neither_the_application_nor_the_api()
    {
        Assert.Empty(References.Violations(Assemblies.Infrastructure, Rules.Infrastructure));
    }

    [Fact]
    public void the_application_never_references_the_api()
    {
        Assert.Empty(References.Violations(Assemblies.Application, Rules.Application));
    }

    [Fact]
    public void the_domain_still_references_the_runtime_so_an_empty_reference_list_cannot_pass_for_clean()
    {
        Assert.Contains("System.Runtime", Assemblies.Domain.GetReferencedAssemblies().Select(a => a.Name));
    }
}

/// <summary>
/// Each rule above, run by the same checker against an assembly that does break it: a checker that looks
/// at the wrong assembly, reads an empty reference list or mismatches names would pass the rules silently,
/// and fails here.
/// </summary>
public sealed class LayerRuleProofs
{
    public static TheoryData<string, string, string> FrameworkViolators => new()
    {
        // pattern, an assembly that uses that framework, a reference it must report
        { "Marten*", "Aetherra.Application", "Marten" },
        { "Wolverine*", "aetherra", "Wolverine" },
        { "JasperFx*", "Aetherra.Application", "JasperFx.Events" },
        { "Microsoft.AspNetCore*", "aetherra", "Microsoft.AspNetCore.Http.Abstractions" },
        { "Npgsql*", "Aetherra.Infrastructure", "Npgsql" },
        { "Weasel*", "Marten", "Weasel.Postgresql" },
    };

    private static Assembly Load(string name) => name switch
    {
        "Aetherra.Application" => Assemblies.Application,
        "Aetherra.Infrastructure" => Assemblies.Infrastructure,
        "aetherra" => Assemblies.Api,
        // No Aetherra assembly uses Weasel directly; Marten does, which still proves the pattern matches.
        "Marten" => typeof(Marten.StoreOptions).Assembly,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [MemberData(nameof(FrameworkViolators))]
    public void the_domain_framework_rule_reports_an_assembly_that_uses_the_framework(string pattern, string violator, string reference)
    {
        Assert.Contains(pattern, Rules.DomainFrameworks);
        var assembly = Load(violator);
        Assert.Equal(violator, assembly.GetName().Name);

        Assert.Contains(reference, References.Violations(assembly, Rules.DomainFrameworks));
        Assert.Contains(reference, References.Violations(assembly, [pattern]));
    }

    [Fact]
    public void the_domain_siblings_rule_reports_the_application_referencing_the_domain()
    {
        Assert.Contains("Aetherra.Domain", References.Violations(Assemblies.Application, Rules.DomainSiblings));
    }

    [Fact]
    public void the_domain_siblings_rule_reports_a_reference_to_the_api()
    {
        Assert.Contains(Assemblies.ApiName, References.Violations(Assemblies.Tests, Rules.DomainSiblings));
    }

    [Fact]
    public void the_infrastructure_rule_reports_the_api_referencing_the_application()
    {
        Assert.Equal(["Aetherra.Application"], References.Violations(Assemblies.Api, Rules.Infrastructure));
    }

    [Fact]
    public void the_infrastructure_rule_reports_a_reference_to_the_api()
    {
        Assert.Contains(Assemblies.ApiName, References.Violations(Assemblies.Tests, Rules.Infrastructure));
    }

    [Fact]
    public void the_application_rule_reports_a_reference_to_the_api()
    {
        Assert.Equal([Assemblies.ApiName], References.Violations(Assemblies.Tests, Rules.Application));
    }

    [Theory]
    [InlineData("Marten", "Marten*", true)]
    [InlineData("Marten.AspNetCore", "Marten*", true)]
    [InlineData("aetherra", "aetherra", true)]
    [InlineData("Aetherra.Domain", "aetherra", false)]
    [InlineData("aetherra.Other", "aetherra", false)]
    [InlineData("Aetherra.Domain", "Aetherra.*", true)]
    [InlineData("System.Runtime", "Npgsql*", false)]
    public void a_pattern_with_a_star_matches_a_prefix_and_one_without_matches_exactly(string name, string pattern, bool matches)
    {
        Assert.Equal(matches, References.Matches(name, pattern));
    }
}

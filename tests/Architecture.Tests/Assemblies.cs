using System.Reflection;

namespace Aetherra.Architecture.Tests;

/// <summary>Each layer's assembly, reached through a type that lives in it.</summary>
public static class Assemblies
{
    public static readonly Assembly Domain = typeof(Aetherra.Domain.Memory.Memory).Assembly;
    public static readonly Assembly Application = typeof(Aetherra.Application.Memory.MemoryConfiguration).Assembly;
    public static readonly Assembly Infrastructure = typeof(Aetherra.Infrastructure.AetherraSettings).Assembly;
    public static readonly Assembly Api = typeof(Aetherra.Api.Hosting.AetherraHost).Assembly;

    /// <summary>This test assembly: it references the Api, so it violates "nothing references the Api".</summary>
    public static readonly Assembly Tests = typeof(Assemblies).Assembly;

    public const string ApiName = "aetherra";
}

/// <summary>The forbidden references of each layer, shared by the rules and the proofs that they can fail.</summary>
public static class Rules
{
    public static readonly string[] DomainFrameworks =
        ["Marten*", "Wolverine*", "JasperFx*", "Microsoft.AspNetCore*", "Npgsql*", "Weasel*"];

    public static readonly string[] DomainSiblings = ["Aetherra.*", Assemblies.ApiName];

    public static readonly string[] Infrastructure = ["Aetherra.Application", Assemblies.ApiName];

    public static readonly string[] Application = [Assemblies.ApiName];
}

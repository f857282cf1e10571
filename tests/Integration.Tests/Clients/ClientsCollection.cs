namespace Aetherra.Integration.Tests.Clients;

/// <summary>
/// The generated clients each start a real server as a child process and run generators and compilers: on a
/// two-core machine, amid the parallel tests, a server's start could take longer than its 90 s. They run alone,
/// after the tests that run in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClientsCollection
{
    public const string Name = "generated clients";
}

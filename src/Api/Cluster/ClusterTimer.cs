using Wolverine.Runtime.Agents;

namespace Aetherra.Api.Cluster;

/// <summary>
/// A timer of the whole installation run as a Wolverine singular agent: the leader assigns it to exactly one node
/// of the cluster and, when that node dies (its heartbeat goes stale), to another. Cluster-wide work runs through
/// it: signing audit checkpoints, sampling the store's vitals and applying corrections (which change thresholds and
/// plugins of every tenant, so two nodes must not both act on one deviation), and turning dead letters into events.
/// </summary>
public sealed class ClusterTimer(string name, Func<BackgroundService> service) : SingularAgent(SchemeOf(name))
{
    public const string Prefix = "aetherra-";

    public static string SchemeOf(string name) => Prefix + name;

    public string Name { get; } = name;

    // The agent's own lifetime, not the token of whatever asked it to start: the service must keep running until
    // the agent is stopped or moved.
    protected override Task startAsync(CancellationToken cancellationToken) => service().StartAsync(CancellationToken.None);

    protected override Task stopAsync(CancellationToken cancellationToken) => service().StopAsync(cancellationToken);
}

public static class ClusterTimers
{
    /// <summary>Registers <typeparamref name="T"/> (already a singleton) as a cluster timer instead of a hosted service of every node.</summary>
    public static IServiceCollection AddClusterTimer<T>(this IServiceCollection services, string name) where T : BackgroundService =>
        // Resolved when the agent starts, not when Wolverine collects the agent families while it builds its runtime:
        // the services depend on the document store, which depends on that runtime.
        services.AddSingleton<IAgentFamily>(sp => new ClusterTimer(name, () => sp.GetRequiredService<T>()));
}

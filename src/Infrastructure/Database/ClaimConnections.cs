using Npgsql;

namespace Aetherra.Infrastructure.Database;

/// <summary>
/// The task claim's own connection pools, one per tenant database, whose connections go back to the pool without
/// Npgsql's reset. A pooled connection is reset on its next use (with prepared statements kept: UNLISTEN, DISCARD
/// TEMP, SET SESSION AUTHORIZATION DEFAULT, CLOSE ALL, RESET ALL, pg_advisory_unlock_all(), DISCARD SEQUENCES, seven
/// statements PostgreSQL runs before the claim's first), which undoes session state a connection's last user may have
/// left. A claim leaves none: it runs BEGIN, its queue query and writes, and COMMIT or ROLLBACK, and nothing else uses
/// these pools. (Npgsql still rolls back a transaction left open by a connection closed in the middle of one.)
/// MeasurementSwitches.ClaimSharedConnections: the claim takes its connection from Marten's pool, as before.
/// </summary>
public sealed class ClaimConnections : IAsyncDisposable
{
    private readonly TenantDatabases _databases;
    private readonly Dictionary<NpgsqlDataSource, NpgsqlDataSource> _pools;

    /// <param name="pools">Each tenant database's data source and the claim pool beside it.</param>
    public ClaimConnections(TenantDatabases databases, IReadOnlyDictionary<NpgsqlDataSource, NpgsqlDataSource> pools)
    {
        _databases = databases;
        _pools = new(pools, ReferenceEqualityComparer.Instance);
    }

    /// <summary>The claim pool of the tenant's database.</summary>
    public NpgsqlDataSource For(string tenant)
    {
        var source = _databases.For(tenant);
        return _pools.TryGetValue(source, out var pool)
            ? pool
            : throw new InvalidOperationException($"no claim pool for the database of tenant '{tenant}'");
    }

    /// <summary>
    /// The settings of a claim pool: the database's own, with no reset on close, and PostgreSQL's generic plans for the
    /// claim's prepared statements (plan_cache_mode = force_generic_plan, this pool's sessions only). Left to choose,
    /// PostgreSQL planned the queue query afresh at almost every claim (4,822 plans in 5,400 claims of an `ops/bench
    /// tasks` run: 0.58 ms of planning against 0.34 of execution); its generic plan walks the queue's partial indexes
    /// (TaskQueuePlanTests bounds its buffers). MeasurementSwitches.ClaimCustomPlans: PostgreSQL's choice, as before.
    /// </summary>
    public static NpgsqlDataSourceBuilder Configure(NpgsqlDataSourceBuilder builder)
    {
        var settings = builder.ConnectionStringBuilder;
        settings.NoResetOnClose = true;
        // Named, unless the connection string names its connections: pg_stat_activity (and a benchmark measuring the
        // claim's own backends) tells a claim's sessions from the daemon's and the other writers'.
        if (string.IsNullOrEmpty(settings.ApplicationName)) settings.ApplicationName = ApplicationName;
        if (!MeasurementSwitches.ClaimCustomPlans)
            settings.Options = (string.IsNullOrWhiteSpace(settings.Options) ? "" : settings.Options + " ") + GenericPlans;
        return builder;
    }

    /// <summary>The application_name of a claim pool's sessions.</summary>
    public const string ApplicationName = "aetherra-claim";

    /// <summary>The session setting a claim pool's connections start with (see <see cref="Configure"/>).</summary>
    public const string GenericPlans = "-c plan_cache_mode=force_generic_plan";

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _pools.Values) await pool.DisposeAsync();
    }
}

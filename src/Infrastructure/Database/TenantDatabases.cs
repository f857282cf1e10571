using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Aetherra.Infrastructure.Database;

/// <summary>One PostgreSQL database of the installation: the home one, or a tenant group's.</summary>
/// <param name="Name">"home", or the group's name from AETHERRA_TENANT_DATABASES.</param>
public sealed record TenantDatabase(string Name, NpgsqlDataSource DataSource, IReadOnlyList<string> Tenants)
{
    public bool IsHome => Name == TenantDatabases.HomeName;
}

/// <summary>
/// Where each tenant's data lives (docs/scaling.md, "Tenants over several databases"). Without
/// AETHERRA_TENANT_DATABASES there is one database, the home one (AETHERRA_DB), and every tenant is in it.
/// With it, each named group of tenants lives in a database of its own (AETHERRA_TENANT_DB_&lt;GROUP&gt;):
/// their events, documents, read models, subject keys and Merkle log. Tenants named in no group stay in the
/// home database, which also holds what is not any tenant's: API keys, idempotency records, jobs, the
/// cluster's members and Wolverine's node tables.
/// </summary>
public sealed partial class TenantDatabases : IAsyncDisposable
{
    public const string HomeName = "home";
    public const string PlacementVariable = "AETHERRA_TENANT_DATABASES";
    public const string ConnectionPrefix = "AETHERRA_TENANT_DB_";

    /// <summary>
    /// The bootstrap key's tenant stays home: the installation's own settings (the AI providers) are written by the
    /// operator's tenant and read from the home database.
    /// </summary>
    public const string HomeOnlyTenant = "default";

    private readonly Dictionary<string, TenantDatabase> byTenant;
    private readonly Dictionary<string, TenantDatabase> byName;

    private TenantDatabases(IReadOnlyList<TenantDatabase> all)
    {
        All = all;
        Home = all[0];
        byName = all.ToDictionary(d => d.Name);
        byTenant = all.Skip(1).SelectMany(d => d.Tenants.Select(t => (t, d))).ToDictionary(x => x.t, x => x.d);
    }

    public TenantDatabase Home { get; }

    /// <summary>Every database, the home one first.</summary>
    public IReadOnlyList<TenantDatabase> All { get; }

    /// <summary>True when tenants are placed over more than the home database.</summary>
    public bool Placed => All.Count > 1;

    /// <summary>The database of a tenant: its group's, or the home one.</summary>
    public TenantDatabase Of(string tenant) => byTenant.GetValueOrDefault(tenant) ?? Home;

    /// <summary>The data source of a tenant's data.</summary>
    public NpgsqlDataSource For(string tenant) => Of(tenant).DataSource;

    public TenantDatabase? Named(string name) => byName.GetValueOrDefault(name);

    /// <summary>One database: the default, and what ops/run starts.</summary>
    public static TenantDatabases Single(NpgsqlDataSource home) => new([new TenantDatabase(HomeName, home, [])]);

    /// <summary>
    /// Reads the placement: AETHERRA_TENANT_DATABASES = "group=tenant,tenant;group=tenant" and, for each group,
    /// AETHERRA_TENANT_DB_&lt;GROUP&gt; (the group's name in capitals) = its connection string. A group name is
    /// lower-case letters, digits and '_'; a tenant is in one group at most; every group has a connection string.
    /// </summary>
    public static TenantDatabases From(IConfiguration config, NpgsqlDataSource home, Func<string, NpgsqlDataSource> build)
    {
        var text = config[PlacementVariable];
        if (string.IsNullOrWhiteSpace(text)) return Single(home);
        var all = new List<TenantDatabase> { new(HomeName, home, []) };
        var placed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) throw Bad($"'{part}' is not group=tenant,tenant");
            var name = part[..eq].Trim();
            if (!GroupName().IsMatch(name) || name == HomeName)
                throw Bad($"'{name}' is not a group name (lower-case letters, digits and '_', 1 to 40, not '{HomeName}')");
            if (all.Any(d => d.Name == name)) throw Bad($"the group '{name}' is named twice");
            var tenants = part[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (tenants.Length == 0) throw Bad($"the group '{name}' has no tenants");
            foreach (var tenant in tenants)
            {
                if (tenant == HomeOnlyTenant) throw Bad($"the tenant '{tenant}' (the bootstrap key's) stays in the home database");
                if (!placed.Add(tenant)) throw Bad($"the tenant '{tenant}' is placed twice");
            }
            var variable = ConnectionPrefix + name.ToUpperInvariant();
            var connection = config[variable];
            if (string.IsNullOrWhiteSpace(connection)) throw Bad($"the group '{name}' has no connection string: set {variable}");
            all.Add(new TenantDatabase(name, build(connection), tenants));
        }
        return new TenantDatabases(all);
    }

    private static InvalidOperationException Bad(string what) => new($"{PlacementVariable}: {what} (docs/scaling.md).");

    [GeneratedRegex("^[a-z0-9_]{1,40}$")]
    private static partial Regex GroupName();

    /// <summary>The groups' data sources (the home one belongs to the host).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var database in All.Skip(1)) await database.DataSource.DisposeAsync();
    }
}

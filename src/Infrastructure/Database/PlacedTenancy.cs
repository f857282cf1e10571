using JasperFx;
using JasperFx.Descriptors;
using JasperFx.MultiTenancy;
using Marten;
using Marten.Schema;
using Marten.Storage;
using Weasel.Core.Migrations;

namespace Aetherra.Infrastructure.Database;

/// <summary>
/// Marten's tenancy when tenants are placed over several databases: Marten's static multi-tenancy
/// (StaticMultiTenancy, a database per tenant group, fixed at start-up), except that a tenant named in no group
/// lives in the home database instead of being unknown, since tenants are made at run time by creating their
/// first key. Inside each database tenancy stays conjoined (MartenDefaults), so a group's tenants share it.
/// Each database gets its own async daemon per projection (Wolverine's managed distribution assigns one agent
/// per projection and database).
/// </summary>
public sealed class PlacedTenancy : Tenancy, ITenancy, IAsyncDisposable
{
    private readonly TenantDatabases placement;
    private readonly Dictionary<string, MartenDatabase> byName = new(StringComparer.Ordinal);

    public PlacedTenancy(StoreOptions options, TenantDatabases placement) : base(options)
    {
        this.placement = placement;
        foreach (var database in placement.All)
            byName[database.Name] = new MartenDatabase(options, database.DataSource, database.Name);
        Home = byName[TenantDatabases.HomeName];
        Default = new Tenant(StorageConstants.DefaultTenantId, Home);
        Cleaner = new CompositeDocumentCleaner(this, options);
    }

    public MartenDatabase Home { get; }
    public Tenant Default { get; }
    public IDocumentCleaner Cleaner { get; }
    public DatabaseCardinality Cardinality => DatabaseCardinality.StaticMultiple;

    private MartenDatabase DatabaseOf(string tenantId) =>
        tenantId == StorageConstants.DefaultTenantId ? Home : byName[placement.Of(tenantId).Name];

    public Tenant GetTenant(string tenantId) => new(tenantId, DatabaseOf(tenantId));

    public ValueTask<Tenant> GetTenantAsync(string tenantId) => ValueTask.FromResult(GetTenant(tenantId));

    public ValueTask<IMartenDatabase> FindOrCreateDatabase(string tenantIdOrDatabaseIdentifier) =>
        ValueTask.FromResult<IMartenDatabase>(byName.TryGetValue(tenantIdOrDatabaseIdentifier, out var named)
            ? named : DatabaseOf(tenantIdOrDatabaseIdentifier));

    public ValueTask<IMartenDatabase> FindDatabase(DatabaseId id) =>
        ValueTask.FromResult<IMartenDatabase>(byName.Values.FirstOrDefault(d => d.Id == id)
            ?? throw new ArgumentOutOfRangeException(nameof(id), $"no database {id.Identity}"));

    public bool IsTenantStoredInCurrentDatabase(IMartenDatabase database, string tenantId) =>
        ReferenceEquals(database, DatabaseOf(tenantId));

    public ValueTask<IReadOnlyList<IDatabase>> BuildDatabases() =>
        ValueTask.FromResult<IReadOnlyList<IDatabase>>(byName.Values.Cast<IDatabase>().ToList());

    public ValueTask<DatabaseUsage> DescribeDatabasesAsync(CancellationToken token)
    {
        var databases = placement.All.Select(d =>
        {
            var descriptor = byName[d.Name].Describe();
            foreach (var tenant in d.Tenants) descriptor.TenantIds.Add(tenant);
            return descriptor;
        }).ToList();
        return ValueTask.FromResult(new DatabaseUsage
        {
            Cardinality = DatabaseCardinality.StaticMultiple, MainDatabase = databases[0], Databases = databases,
        });
    }

    public void Dispose()
    {
        foreach (var database in byName.Values) database.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in byName.Values) await database.DisposeAsync();
    }
}

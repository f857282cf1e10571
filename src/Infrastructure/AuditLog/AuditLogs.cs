using Aetherra.Infrastructure.Database;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>The Merkle log of one database, and the origin its checkpoints name.</summary>
public sealed record DatabaseAuditLog(string Database, string Origin, AuditLogStore Store, AuditLogVerifier Verifier)
{
    /// <summary>Verifies this log, and says which database and origin the report is of.</summary>
    public async Task<VerifyReport> VerifyAsync(string origin, byte[] publicKey, Action<long, long>? progress, CancellationToken ct) =>
        await Verifier.VerifyAsync(origin, publicKey, progress, ct) with { Database = Database, Origin = origin };
}

/// <summary>
/// One Merkle log per database (docs/scaling.md): the tree is built over a database's own global sequence, and two
/// databases have two sequences with no order between them. Every tree is signed by the one installation key; its
/// origin says which tree a checkpoint is of: the configured origin (AETHERRA_AUDIT_ORIGIN) for the home database,
/// as without placement, and "&lt;origin&gt;/&lt;group&gt;" for a tenant group's database.
/// </summary>
public sealed class AuditLogs
{
    private readonly TenantDatabases databases;
    private readonly Dictionary<string, DatabaseAuditLog> byName;

    public AuditLogs(TenantDatabases databases, AuditLogSettings settings)
    {
        this.databases = databases;
        All = databases.All.Select(d =>
        {
            var store = new AuditLogStore(d.DataSource);
            return new DatabaseAuditLog(d.Name, OriginOf(settings.Origin, d.Name), store, new AuditLogVerifier(d.DataSource, store));
        }).ToList();
        byName = All.ToDictionary(l => l.Database);
    }

    /// <summary>Every database's log, the home one first.</summary>
    public IReadOnlyList<DatabaseAuditLog> All { get; }

    public DatabaseAuditLog Home => All[0];

    /// <summary>The log of the tenant's database.</summary>
    public DatabaseAuditLog Of(string tenant) => byName[databases.Of(tenant).Name];

    public static string OriginOf(string origin, string database) => database == TenantDatabases.HomeName ? origin : $"{origin}/{database}";
}

using Aetherra.Domain.Audit;
using Aetherra.Infrastructure.EventStore;
using JasperFx.Events;
using Marten;
using Npgsql;
using NpgsqlTypes;

namespace Aetherra.Application.Audit;

/// <summary>
/// The inline AuditEntry row of an audit event written without a session (the task claim): the document the
/// projection creates from the event, upserted with Marten's own statement for it.
/// </summary>
public static class AuditIndexRow
{
    private const string Table = $"{Infrastructure.AetherraSettings.Schema}.mt_doc_auditentry";

    private const string UpsertSql = $"""
        insert into {Table} (tenant_id, id, data, "mt_version", "mt_dotnet_type", "mt_last_modified") values ($1, $2, $3, $4, $5, transaction_timestamp())
        on conflict (tenant_id, id) do update set data = excluded.data, "mt_version" = excluded."mt_version", "mt_dotnet_type" = excluded."mt_dotnet_type", "mt_last_modified" = excluded."mt_last_modified"
        """;

    private static readonly AuditIndexProjection Projection = new();

    public static NpgsqlBatchCommand Upsert(IEvent recorded, ISerializer serializer)
    {
        var entry = Projection.Create((IEvent<AuditRecorded>)recorded);
        var cmd = new NpgsqlBatchCommand(UpsertSql);
        cmd.Parameters.Add(new() { Value = recorded.TenantId, NpgsqlDbType = NpgsqlDbType.Varchar });
        cmd.Parameters.Add(new() { Value = entry.Id, NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new() { Value = serializer.ToJson(entry), NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(new() { Value = EventRows.NewDocumentVersion(), NpgsqlDbType = NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new() { Value = EventRows.DocumentTypeName(typeof(AuditEntry)), NpgsqlDbType = NpgsqlDbType.Varchar });
        return cmd;
    }
}

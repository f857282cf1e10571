using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>
/// The audit log's own tables, part of Marten's schema (created and migrated with it):
/// leaves (one per event, in tree order), the complete subtrees above them (level 1 and up; a node never
/// changes once complete, so proofs read O(log n) rows), and the signed checkpoints.
/// Leaves and nodes are derived from mt_events and are wiped and rebuilt with the projection; checkpoints are
/// published statements and are never torn down.
/// </summary>
public static class AuditLogSchema
{
    private const string S = AetherraSettings.Schema;
    public const string Leaves = $"{S}.audit_leaves";
    public const string Nodes = $"{S}.audit_nodes";
    public const string Checkpoints = $"{S}.audit_checkpoints";

    /// <summary>The tables in another schema: where an analysis rebuild grows a tree of its own.</summary>
    public static (string Leaves, string Nodes, string Events) In(string schema) =>
        ($"{schema}.audit_leaves", $"{schema}.audit_nodes", $"{schema}.mt_events");

    public static IEnumerable<Table> Tables(string schema = S)
    {
        var leaves = new Table(new PostgresqlObjectName(schema, "audit_leaves", SchemaUtils.IdentifierUsage.General));
        leaves.AddColumn<long>("leaf_index").AsPrimaryKey();
        leaves.AddColumn<long>("sequence").NotNull();
        leaves.AddColumn("leaf_hash", "bytea").NotNull();
        leaves.Indexes.Add(new IndexDefinition("ix_audit_leaves_sequence") { Columns = ["sequence"], IsUnique = true });
        yield return leaves;

        var nodes = new Table(new PostgresqlObjectName(schema, "audit_nodes", SchemaUtils.IdentifierUsage.General));
        nodes.AddColumn<int>("level").AsPrimaryKey();
        nodes.AddColumn<long>("node_index").AsPrimaryKey();
        nodes.AddColumn("hash", "bytea").NotNull();
        yield return nodes;

        var checkpoints = new Table(new PostgresqlObjectName(schema, "audit_checkpoints", SchemaUtils.IdentifierUsage.General));
        checkpoints.AddColumn<long>("tree_size").AsPrimaryKey();
        checkpoints.AddColumn("root_hash", "bytea").NotNull();
        checkpoints.AddColumn("note", "text").NotNull();
        checkpoints.AddColumn<DateTimeOffset>("signed_at").NotNull();
        yield return checkpoints;
    }
}

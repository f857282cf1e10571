using Npgsql;
using NpgsqlTypes;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>The state of the tree: its size, the sequence of its last leaf and its root.</summary>
public sealed record TreeHead(long Size, long LastSequence, byte[] RootHash);

/// <summary>A signed checkpoint as stored.</summary>
public sealed record StoredCheckpoint(long TreeSize, byte[] RootHash, string Note, DateTimeOffset SignedAt);

/// <summary>
/// The Merkle log's tables: appending (inside the projection daemon's transaction), reading nodes for
/// proofs and roots, and the signed checkpoints.
/// </summary>
public sealed class AuditLogStore(NpgsqlDataSource db)
{
    /// <summary>
    /// Appends every event with a sequence up to <paramref name="ceiling"/> that is not a leaf yet, in sequence
    /// order, on the caller's connection and transaction. O(log n) reads for the frontier, then one leaf and on
    /// average one node per event, written with binary COPY.
    /// </summary>
    /// <returns>The number of leaves appended.</returns>
    /// <param name="schema">The schema of the events and the tree: the live one, or an analysis rebuild's.</param>
    public static async Task<int> AppendUpToAsync(NpgsqlConnection connection, long ceiling, CancellationToken ct, string schema = AetherraSettings.Schema)
    {
        var tables = AuditLogSchema.In(schema);
        var (size, last) = await TipAsync(connection, ct, tables.Leaves);
        if (last >= ceiling) return 0;
        var cover = Merkle.Cover(0, size);
        var known = await ReadNodesAsync(connection, cover, ct, schema);
        var frontier = new MerkleFrontier(size, cover.Select(n => known[n]).ToList());

        // In chunks: a page's ceiling can be far ahead (the daemon reads no event for the log, so a catch-up or a
        // rebuild hands over the whole range at once), and the leaves and nodes of a chunk are held until copied.
        var appended = 0;
        var hasher = new AuditLeafHasher();
        while (true)
        {
            var leaves = new List<(long Index, long Sequence, byte[] Hash)>();
            var nodes = new List<(MerkleNode Node, byte[] Hash)>();
            await foreach (var e in StoredEvents.ReadAsync(connection, last, ceiling, ct, tables.Events, AppendChunk))
            {
                var hash = hasher.HashOf(e);
                leaves.Add((frontier.Size, e.Sequence, hash));
                frontier.Append(hash, (n, h) => nodes.Add((n, h)));
            }
            if (leaves.Count == 0) return appended;
            await CopyAsync(connection, tables, leaves, nodes, ct);
            appended += leaves.Count;
            if (leaves.Count < AppendChunk) return appended;
            last = leaves[^1].Sequence;
        }
    }

    /// <summary>At most this many leaves are held in memory before they are copied.</summary>
    private const int AppendChunk = 20_000;

    private static async Task CopyAsync(NpgsqlConnection connection, (string Leaves, string Nodes, string Events) tables,
        List<(long Index, long Sequence, byte[] Hash)> leaves, List<(MerkleNode Node, byte[] Hash)> nodes, CancellationToken ct)
    {
        await using (var copy = await connection.BeginBinaryImportAsync(
                         $"copy {tables.Leaves} (leaf_index, sequence, leaf_hash) from stdin (format binary)", ct))
        {
            foreach (var (index, sequence, hash) in leaves)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(index, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(sequence, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(hash, NpgsqlDbType.Bytea, ct);
            }
            await copy.CompleteAsync(ct);
        }
        if (nodes.Count == 0) return;
        await using (var copy = await connection.BeginBinaryImportAsync(
                         $"copy {tables.Nodes} (level, node_index, hash) from stdin (format binary)", ct))
        {
            foreach (var (node, hash) in nodes)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(node.Level, NpgsqlDbType.Integer, ct);
                await copy.WriteAsync(node.Index, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(hash, NpgsqlDbType.Bytea, ct);
            }
            await copy.CompleteAsync(ct);
        }
    }

    /// <summary>Size of the tree and the sequence of its last leaf (0, 0 when empty).</summary>
    private static async Task<(long Size, long LastSequence)> TipAsync(NpgsqlConnection connection, CancellationToken ct, string leaves = AuditLogSchema.Leaves)
    {
        await using var cmd = new NpgsqlCommand(
            $"select leaf_index + 1, sequence from {leaves} order by leaf_index desc limit 1", connection);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetInt64(1)) : (0, 0);
    }

    public static async Task<IReadOnlyDictionary<MerkleNode, byte[]>> ReadNodesAsync(
        NpgsqlConnection connection, IReadOnlyCollection<MerkleNode> wanted, CancellationToken ct, string schema = AetherraSettings.Schema)
    {
        var found = new Dictionary<MerkleNode, byte[]>();
        if (wanted.Count == 0) return found;
        var tables = AuditLogSchema.In(schema);
        await using var cmd = new NpgsqlCommand($"""
            select 0, leaf_index, leaf_hash from {tables.Leaves} where leaf_index = any($1)
            union all
            select n.level, n.node_index, n.hash from {tables.Nodes} n
              join unnest($2::int[], $3::bigint[]) w(level, node_index) on n.level = w.level and n.node_index = w.node_index
            """, connection);
        cmd.Parameters.Add(new() { Value = wanted.Where(n => n.Level == 0).Select(n => n.Index).ToArray() });
        cmd.Parameters.Add(new() { Value = wanted.Where(n => n.Level > 0).Select(n => n.Level).ToArray() });
        cmd.Parameters.Add(new() { Value = wanted.Where(n => n.Level > 0).Select(n => n.Index).ToArray() });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            found[new MerkleNode(reader.GetInt32(0), reader.GetInt64(1))] = reader.GetFieldValue<byte[]>(2);
        return found;
    }

    public async Task<IReadOnlyDictionary<MerkleNode, byte[]>> ReadNodesAsync(IReadOnlyCollection<MerkleNode> wanted, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        return await ReadNodesAsync(connection, wanted, ct);
    }

    /// <summary>Size of the tree and the sequence of its last leaf, without reading any node.</summary>
    public async Task<(long Size, long LastSequence)> TipAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        return await TipAsync(connection, ct);
    }

    public async Task<TreeHead> HeadAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var (size, last) = await TipAsync(connection, ct);
        var cover = Merkle.Cover(0, size);
        var nodes = await ReadNodesAsync(connection, cover, ct);
        return new TreeHead(size, last, Merkle.RangeHash(0, size, n => nodes.TryGetValue(n, out var h) ? h : throw new MissingNode(n)));
    }

    /// <summary>The root of the first <paramref name="size"/> leaves, from the stored nodes.</summary>
    public async Task<byte[]> RootAsync(long size, CancellationToken ct) =>
        (await Merkle.ResolveAsync([(0, size)], ReadNodesAsync, ct))[0];

    /// <summary>
    /// The leaf of an event, when the tree has it (and, given a tenant, when the event is that tenant's), with
    /// the tree's current size: one round trip for what an inclusion proof needs to know first.
    /// </summary>
    public async Task<(long LeafIndex, byte[] LeafHash, long TreeSize)?> FindLeafAsync(long sequence, string? tenant, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            select l.leaf_index, l.leaf_hash, (select t.leaf_index + 1 from {AuditLogSchema.Leaves} t order by t.leaf_index desc limit 1)
              from {AuditLogSchema.Leaves} l
              join {AetherraSettings.Schema}.mt_events e on e.seq_id = l.sequence
             where l.sequence = $1 and ($2::text is null or e.tenant_id = $2)
            """);
        cmd.Parameters.Add(new() { Value = sequence });
        cmd.Parameters.Add(new() { Value = (object?)tenant ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetFieldValue<byte[]>(1), reader.GetInt64(2)) : null;
    }

    /// <summary>
    /// The inclusion proof of an event at tree size <paramref name="size"/> in one round trip: the event's leaf
    /// (given a tenant, only when the event is that tenant's) together with every node the proof can need, whose
    /// coordinates follow from the leaf index (the sibling of each of its ancestors, when complete within the tree)
    /// and from the size alone (the tree's frontier, <c>Cover(0, size)</c>, from which the right edge's incomplete
    /// subtrees are hashed). Null when the event is not a leaf below <paramref name="size"/> or the tree is smaller.
    /// </summary>
    public async Task<(long LeafIndex, byte[] LeafHash, byte[][] Proof)?> InclusionAsync(long sequence, string? tenant, long size, CancellationToken ct)
    {
        if (size < 1) return null;
        var cover = Merkle.Cover(0, size);
        await using var cmd = db.CreateCommand($"""
            with leaf as (
              select l.leaf_index, l.leaf_hash from {AuditLogSchema.Leaves} l
                join {AetherraSettings.Schema}.mt_events e on e.seq_id = l.sequence
               where l.sequence = $1 and ($2::text is null or e.tenant_id = $2) and l.leaf_index < $3)
            select -1, leaf_index, leaf_hash from leaf
            union all
            select 0, s.leaf_index, s.leaf_hash from leaf join {AuditLogSchema.Leaves} s on s.leaf_index = (leaf.leaf_index # 1)
             where s.leaf_index < $3
            union all
            select n.level, n.node_index, n.hash from leaf cross join generate_series(1, $4) lv(level)
              join {AuditLogSchema.Nodes} n on n.level = lv.level and n.node_index = ((leaf.leaf_index >> lv.level) # 1)
             where (n.node_index + 1) << n.level <= $3
            union all
            select 0, leaf_index, leaf_hash from {AuditLogSchema.Leaves} where leaf_index = any($5)
            union all
            select n.level, n.node_index, n.hash from {AuditLogSchema.Nodes} n
              join unnest($6::int[], $7::bigint[]) w(level, node_index) on n.level = w.level and n.node_index = w.node_index
            """);
        cmd.Parameters.Add(new() { Value = sequence });
        cmd.Parameters.Add(new() { Value = (object?)tenant ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = size });
        cmd.Parameters.Add(new() { Value = 63 - (int)long.LeadingZeroCount(size) });
        cmd.Parameters.Add(new() { Value = cover.Where(n => n.Level == 0).Select(n => n.Index).ToArray() });
        cmd.Parameters.Add(new() { Value = cover.Where(n => n.Level > 0).Select(n => n.Level).ToArray() });
        cmd.Parameters.Add(new() { Value = cover.Where(n => n.Level > 0).Select(n => n.Index).ToArray() });
        (long Index, byte[] Hash)? leaf = null;
        var nodes = new Dictionary<MerkleNode, byte[]>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var level = reader.GetInt32(0);
                if (level < 0) leaf = (reader.GetInt64(1), reader.GetFieldValue<byte[]>(2));
                else nodes[new MerkleNode(level, reader.GetInt64(1))] = reader.GetFieldValue<byte[]>(2);
            }
        if (leaf is not { } found) return null;
        // Every frontier node of a tree of this size exists once the tree has that many leaves (the last one
        // covers leaf size - 1). One missing: the tree is smaller, unless a stored node was lost.
        if (!cover.All(nodes.ContainsKey) && (await TipAsync(ct)).Size < size) return null;
        var proof = await Merkle.ResolveAsync(Merkle.InclusionPath(found.Index, size), async (wanted, token) =>
        {
            var missing = wanted.Where(n => !nodes.ContainsKey(n)).ToList();
            if (missing.Count > 0)
                foreach (var (node, hash) in await ReadNodesAsync(missing, token))
                    nodes[node] = hash;
            return nodes;
        }, ct);
        return (found.Index, found.Hash, proof);
    }

    public Task<byte[][]> InclusionProofAsync(long leafIndex, long size, CancellationToken ct) =>
        Merkle.ResolveAsync(Merkle.InclusionPath(leafIndex, size), ReadNodesAsync, ct);

    public Task<byte[][]> ConsistencyProofAsync(long from, long to, CancellationToken ct) =>
        Merkle.ResolveAsync(Merkle.ConsistencyPath(from, to), ReadNodesAsync, ct);

    public async Task<StoredCheckpoint?> LatestCheckpointAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"select tree_size, root_hash, note, signed_at from {AuditLogSchema.Checkpoints} order by tree_size desc limit 1");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadCheckpoint(reader) : null;
    }

    /// <summary>Every checkpoint in tree order, streamed.</summary>
    public async IAsyncEnumerable<StoredCheckpoint> CheckpointsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"select tree_size, root_hash, note, signed_at from {AuditLogSchema.Checkpoints} order by tree_size");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) yield return ReadCheckpoint(reader);
    }

    /// <summary>Stores a checkpoint; a second signer of the same size (another node) changes nothing.</summary>
    public async Task SaveCheckpointAsync(StoredCheckpoint c, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"insert into {AuditLogSchema.Checkpoints} (tree_size, root_hash, note, signed_at) values ($1, $2, $3, $4) on conflict (tree_size) do nothing");
        cmd.Parameters.Add(new() { Value = c.TreeSize });
        cmd.Parameters.Add(new() { Value = c.RootHash });
        cmd.Parameters.Add(new() { Value = c.Note });
        cmd.Parameters.Add(new() { Value = c.SignedAt });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static StoredCheckpoint ReadCheckpoint(NpgsqlDataReader r) =>
        new(r.GetInt64(0), r.GetFieldValue<byte[]>(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3));
}

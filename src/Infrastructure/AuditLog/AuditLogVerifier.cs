using Npgsql;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>
/// The outcome of a full verification. <c>FirstMismatch</c> is the global sequence of the first stored event
/// that no longer matches its leaf (changed, deleted, moved, or never logged); <c>Problem</c> says what failed.
/// </summary>
public sealed record VerifyReport(
    bool Ok, long VerifiedEvents, long TreeSize, string RootHash, long? FirstMismatch, string? Problem, int Checkpoints)
{
    /// <summary>Which database's tree ("home" without tenant placement; docs/scaling.md).</summary>
    public string? Database { get; init; }

    /// <summary>The origin the checkpoints were verified under.</summary>
    public string? Origin { get; init; }
}

/// <summary>
/// Recomputes the log from mt_events and checks it against everything that was stored or signed: each
/// event's leaf, the root at every checkpoint's size (so every checkpoint is a prefix of one tree, hence
/// consistent with the next), every checkpoint's signature, the stored nodes proofs are made from, and the
/// consistency proofs the server would give between successive checkpoints. Streams both tables, so memory
/// stays constant on any log.
/// </summary>
public sealed class AuditLogVerifier(NpgsqlDataSource db, AuditLogStore log)
{
    /// <param name="progress">receives (events verified, events in the tree) every 65,536 events</param>
    public async Task<VerifyReport> VerifyAsync(string origin, byte[] publicKey, Action<long, long>? progress, CancellationToken ct)
    {
        var (size, lastSequence) = await log.TipAsync(ct);
        var empty = Merkle.EmptyRoot;
        var checkpoints = new List<Checkpoint>();
        await foreach (var row in log.CheckpointsAsync(ct))
        {
            if (Open(row, origin, publicKey) is not { } opened)
                return Fail(0, size, empty, null, $"the checkpoint of tree size {row.TreeSize} is not signed by this log's key (altered or forged)", checkpoints.Count);
            if (opened.TreeSize > size)
                return Fail(0, size, empty, null, $"the checkpoint of tree size {opened.TreeSize} is beyond the tree ({size} leaves): leaves were lost, or a rebuild is under way", checkpoints.Count);
            checkpoints.Add(opened);
        }

        var frontier = new MerkleFrontier();
        var next = 0;
        while (next < checkpoints.Count && checkpoints[next].TreeSize == 0) next++;
        await using var leafConnection = await db.OpenConnectionAsync(ct);
        await using var eventConnection = await db.OpenConnectionAsync(ct);
        await using var leaves = new Prefetch<(long Sequence, byte[] Hash)>(t => ReadLeavesAsync(leafConnection, size, t), ct);
        // Rows are read and hashed on the events' reader thread; this loop only compares and folds.
        await using var events = new Prefetch<(long Sequence, byte[] Hash)>(t => StoredEvents.ReadLeafHashesAsync(eventConnection, 0, lastSequence, t), ct);
        var hasEvent = await events.MoveNextAsync();
        var lastGoodSequence = 0L;

        while (await leaves.MoveNextAsync())
        {
            var (sequence, stored) = leaves.Current;
            if (!hasEvent || events.Current.Sequence > sequence)
                return Fail(frontier.Size, size, frontier.Root(), sequence, $"event {sequence} was logged but is no longer stored", checkpoints.Count);
            if (events.Current.Sequence < sequence)
                return Fail(frontier.Size, size, frontier.Root(), events.Current.Sequence, $"event {events.Current.Sequence} is stored but was never logged", checkpoints.Count);
            var hash = events.Current.Hash;
            if (!hash.AsSpan().SequenceEqual(stored))
                return Fail(frontier.Size, size, frontier.Root(), sequence, $"event {sequence} changed after it was logged", checkpoints.Count);
            frontier.Append(hash);
            while (next < checkpoints.Count && checkpoints[next].TreeSize == frontier.Size)
            {
                if (!frontier.Root().AsSpan().SequenceEqual(checkpoints[next].RootHash))
                    return Fail(frontier.Size, size, frontier.Root(), await FirstSequenceAfterAsync(lastGoodSequence, ct),
                        $"the events up to tree size {frontier.Size} no longer match their signed checkpoint (events and leaves were both rewritten after sequence {lastGoodSequence})", checkpoints.Count);
                lastGoodSequence = sequence;
                next++;
            }
            if ((frontier.Size & 0xFFFF) == 0) progress?.Invoke(frontier.Size, size);
            hasEvent = await events.MoveNextAsync();
        }
        progress?.Invoke(frontier.Size, size);
        if (hasEvent)
            return Fail(frontier.Size, size, frontier.Root(), events.Current.Sequence, $"event {events.Current.Sequence} is stored but was never logged", checkpoints.Count);

        var root = frontier.Root();
        try
        {
            var storedRoot = await log.RootAsync(size, ct);
            if (!root.AsSpan().SequenceEqual(storedRoot))
                return Fail(frontier.Size, size, root, null, "the stored tree nodes do not match the leaves: proofs would not verify", checkpoints.Count);
            for (var i = 1; i < checkpoints.Count; i++)
            {
                var (a, b) = (checkpoints[i - 1], checkpoints[i]);
                if (a.TreeSize == 0) continue;
                var proof = await log.ConsistencyProofAsync(a.TreeSize, b.TreeSize, ct);
                if (!Merkle.VerifyConsistency(a.TreeSize, b.TreeSize, a.RootHash, b.RootHash, proof))
                    return Fail(frontier.Size, size, root, null, $"the stored tree cannot prove checkpoint {a.TreeSize} consistent with {b.TreeSize}", checkpoints.Count);
            }
        }
        catch (MissingNode e)
        {
            return Fail(frontier.Size, size, root, null, $"the stored tree lost a node ({e.Message}): proofs would not verify", checkpoints.Count);
        }
        return new VerifyReport(true, frontier.Size, size, Convert.ToBase64String(root), null, null, checkpoints.Count);
    }

    private static async IAsyncEnumerable<(long, byte[])> ReadLeavesAsync(
        NpgsqlConnection connection, long size, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"select sequence, leaf_hash from {AuditLogSchema.Leaves} where leaf_index < $1 order by leaf_index", connection);
        cmd.Parameters.Add(new() { Value = size });
        await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct)) yield return (reader.GetInt64(0), reader.GetFieldValue<byte[]>(1));
    }

    /// <summary>The signed checkpoint, when the note verifies and says what its row says.</summary>
    private static Checkpoint? Open(StoredCheckpoint row, string origin, byte[] publicKey) =>
        CheckpointNote.Open(row.Note, origin, publicKey) is { } c && c.TreeSize == row.TreeSize && c.RootHash.AsSpan().SequenceEqual(row.RootHash)
            ? c
            : null;

    private async Task<long> FirstSequenceAfterAsync(long sequence, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"select coalesce(min(seq_id), $1) from {AetherraSettings.Schema}.mt_events where seq_id > $1");
        cmd.Parameters.Add(new() { Value = sequence });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static VerifyReport Fail(long verified, long size, byte[] root, long? mismatch, string problem, int checkpoints) =>
        new(false, verified, size, Convert.ToBase64String(root), mismatch, problem, checkpoints);
}

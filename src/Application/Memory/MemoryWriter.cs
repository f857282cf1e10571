using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.EventStore;
using Marten;
using Npgsql;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

/// <summary>The key that sealed the content a write derives from is destroyed: its subject was forgotten meanwhile.</summary>
internal sealed class SourceForgotten() : Exception("the subject was forgotten after the content this write derives from");

/// <summary>
/// The write path shared by single and batch recording (and extraction): the subjects' keys, the keyed hashes, the
/// dedup query, then the domain's decision (<see cref="RecordingMemory"/>), appended and committed with the audit record.
/// </summary>
internal static class MemoryWriter
{
    public static async Task<(IReadOnlyList<Recording> Results, long Sequence)> RecordAsync(
        IReadOnlyList<MemoryToRecord> items, CommandContext command, IDocumentStore store, SubjectKeyStore keys,
        TimeProvider clock, Func<IReadOnlyList<Recording>, Outcome> outcome, CancellationToken ct, Guid? derivedFromKey = null)
    {
        // The first attempt trusts the cached keys and lets the store say otherwise in the same round trip as the
        // write (the key proof fails on a destroyed key); the second reads the keys afresh under lock.
        for (var attempt = 1; ; attempt++)
        {
            // The sequences a batch's copy took, until its commit: a failed attempt leaves them unused.
            var copied = new List<long>();
            try
            {
                await using var session = store.OpenFor(command);
                try
                {
                    return await RecordOnceAsync(items, command, session, keys, clock, outcome, optimistic: attempt == 1, ct, derivedFromKey, copied);
                }
                catch (Exception e) when (attempt == 1 && Sessions.IsUniqueViolation(e, MemoryConfiguration.DedupIndex))
                {
                    // A concurrent write of the same content committed first: the retry finds it and answers its id.
                }
                catch (Exception e) when (attempt == 1
                                          && Aetherra.Infrastructure.Database.StoreFailures.Postgres(e)?.SqlState == SubjectKeyStore.KeyGoneSqlState)
                {
                    // A cached key was destroyed (its subject forgotten, maybe on another node): drop them, read afresh.
                    foreach (var subject in items.Select(i => i.Subject).Distinct(StringComparer.Ordinal)) keys.Evict(command.Tenant, subject);
                }
            }
            finally
            {
                // Once the session has rolled back: the copy's sequences become Marten's tombstones, as Marten writes them
                // for its own appends after a failed session, so the log keeps no gap for the async projections to wait out.
                await new EventRows(store, command.Tenant, null, null).WriteTombstonesAsync(copied);
            }
        }
    }

    /// <summary>
    /// The subjects' keys for one write transaction, in sorted subject order (two transactions creating keys for the same
    /// new subjects then wait on each other in one order and never deadlock): a cached key is proven in the session's
    /// batch, any other read or created under FOR KEY SHARE on <paramref name="connection"/>; not
    /// <paramref name="optimistic"/>, the cache is dropped first and every key read afresh.
    /// </summary>
    internal static async Task<Dictionary<string, DataKey>> TakeKeysAsync(IDocumentSession session, Func<Task<NpgsqlConnection>> connection,
        string tenant, IEnumerable<string> subjects, SubjectKeyStore keys, bool optimistic, CancellationToken ct)
    {
        var keysBySubject = new Dictionary<string, DataKey>(StringComparer.Ordinal);
        foreach (var subject in subjects.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            if (!optimistic) keys.Evict(tenant, subject);
            var (key, proven) = await keys.ForWriteAsync(connection, tenant, subject, ct);
            if (!proven) SubjectKeyProof.Queue(session, tenant, subject, key.Id);
            keysBySubject[subject] = key;
        }
        return keysBySubject;
    }

    private static async Task<(IReadOnlyList<Recording>, long)> RecordOnceAsync(
        IReadOnlyList<MemoryToRecord> items, CommandContext command, IDocumentSession session, SubjectKeyStore keys,
        TimeProvider clock, Func<IReadOnlyList<Recording>, Outcome> outcome, bool optimistic, CancellationToken ct,
        Guid? derivedFromKey, List<long> copied)
    {
        var now = clock.GetUtcNow();
        NpgsqlConnection? connection = null;
        async Task<NpgsqlConnection> Connection() => connection ??= await session.BeginAsync(ct);
        // One connection for the whole write: opened with its transaction before the dedup query, so the query, the
        // event sequences Marten reserves and the batch share one pool checkout. Opened lazily, the query and the
        // sequences each took a connection of their own (three checkouts, each costing PostgreSQL a session reset).
        // AETHERRA_WRITE_CONNECTION=lazy brings the old behaviour back, for comparison (docs/benchmarks.md).
        if (!optimistic || items.Count > 1 || !Infrastructure.MeasurementSwitches.LazyWriteConnection) await Connection();

        var keysBySubject = await TakeKeysAsync(session, Connection, command.Tenant, items.Select(i => i.Subject), keys, optimistic, ct);
        // Content derived from something sealed with a key (an extracted turn) is written only under that same key,
        // which this write proves alive like any other (the proof in its batch, or the read under lock): a subject
        // forgotten since has no such key, and the new one this attempt would have made rolls back with it.
        if (derivedFromKey is { } source && keysBySubject.Values.Any(k => k.Id != source))
        {
            foreach (var subject in keysBySubject.Keys) keys.Evict(command.Tenant, subject);
            throw new SourceForgotten();
        }

        var hashes = items.Select(i => MemoryContent.Hash(keysBySubject[i.Subject], i.Content, i.Subject, i.Agent)).ToArray();
        // Dedup asks first rather than letting the unique index refuse: a refused insert has used its event
        // sequence, and every such gap holds the async projections (recall, the Merkle log) until the daemon
        // gives up on it, which a duplicate write (common from assistants) must not cost.
        var distinct = hashes.Distinct().ToArray();
        var known = await FindKnownAsync(session, connection, distinct, ct);

        var (results, recorded) = RecordingMemory.Decide(items, hashes, known, Guid.CreateVersion7,
            (id, item) => MemoryContent.Seal(keysBySubject[item.Subject], command.Tenant, id, item.Content), now);

        // One memory goes through Marten's append (and its inline projection); a batch is copied in, rows
        // and snapshots alike, in this same transaction: a statement per row would cap imports at a few
        // thousand memories a second.
        if (items.Count == 1)
            foreach (var e in recorded) session.Events.StartStream<MemoryState>(e.MemoryId, e);
        else if (recorded.Count > 0)
            await NewStreamCopy.WriteAsync(await Connection(), session.DocumentStore, command.Tenant, command.Actor,
                command.RequestId.ToString(), now,
                recorded.Select(e => new NewStream(e.MemoryId, e, MemoryState.Create(e))).ToList(), ct, copied);

        var target = items.Count == 1 ? results[0].Id.ToString() : null;
        var sequence = await session.CommitAsync(command, target, outcome(results), now, ct);
        copied.Clear();
        return (results, sequence);
    }

    /// <summary>The active memories of the session's tenant that hold any of these keyed hashes, by hash (the dedup query).</summary>
    internal static async Task<Dictionary<string, KnownMemory>> FindKnownAsync(
        IDocumentSession session, NpgsqlConnection? connection, string[] distinct, CancellationToken ct) =>
        Infrastructure.MeasurementSwitches.LinqDedupQuery || connection is null
            ? (await session.Query<MemoryState>()
                    .Where(m => distinct.Contains(m.DedupKey))
                    .Select(m => new { m.Id, m.ContentHash, m.Version })
                    .ToListAsync(ct))
                .ToDictionary(m => m.ContentHash, m => new KnownMemory(m.Id, m.Version), StringComparer.Ordinal)
            : await KnownAsync(connection, session, distinct, ct);

    /// <summary>
    /// The dedup query as the LINQ query above writes it (same table, filter and index), sent as plain SQL on the
    /// write's own connection and transaction: Marten parsed the LINQ expression and built its statement and result
    /// selector again on every write (about 5 % of the server's on-CPU samples at 32 clients, docs/benchmarks.md).
    /// AETHERRA_DEDUP_QUERY=linq brings the LINQ query back.
    /// </summary>
    private static async Task<Dictionary<string, KnownMemory>> KnownAsync(
        NpgsqlConnection connection, IDocumentSession session, string[] hashes, CancellationToken ct)
    {
        var schema = session.DocumentStore.Options.DatabaseSchemaName;
        await using var query = new NpgsqlCommand(
            $"select d.id, d.data ->> 'contentHash', CAST(d.data ->> 'version' as integer) from {schema}.mt_doc_memory as d " +
            "where d.tenant_id = $1 and d.data ->> 'dedupKey' = ANY($2)", connection)
        {
            Parameters = { new() { Value = session.TenantId }, new() { Value = hashes } }
        };
        var known = new Dictionary<string, KnownMemory>(StringComparer.Ordinal);
        await using var reader = await query.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) known[reader.GetString(1)] = new KnownMemory(reader.GetGuid(0), reader.GetInt32(2));
        return known;
    }
}

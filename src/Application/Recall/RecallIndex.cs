using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.Embeddings;
using Npgsql;

namespace Aetherra.Application.Recall;

/// <summary>
/// The semantic side of recall: every RecallEntry embedding, held in this process and searched exactly
/// (brute-force dot products over the candidates the filters leave, partitioned by tenant and subject).
/// It is warmed from the read model on first use and kept current by reading the rows the projection
/// changed since the last look (<c>changed_seq</c>), so every node of a cluster sees the projection's work
/// whichever node runs it. A rebuild changes the projection's epoch, which reloads everything. With tenants over
/// several databases (docs/scaling.md) each database has its own projection, epoch and changed_seq: the index
/// follows each with a cursor of its own, and a rebuild in one reloads that database's tenants only.
/// </summary>
public sealed class RecallIndex(TenantDatabases databases)
{
    public sealed record Entry(
        Guid MemoryId, int Version, string Agent, string? Session, string Kind, string[] Tags,
        DateTimeOffset ValidFrom, DateTimeOffset? ValidTo, DateTimeOffset? ExpiresAt, float[] Vector,
        double Importance, DateTimeOffset OccurredAt, string Classification,
        IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Metadata, long RecordedSeq = 0, bool Archived = false)
    {
        /// <summary>What a recall filter is evaluated against.</summary>
        public Domain.Recall.FilterFacts Facts => new(Kind, Tags, Agent, Session, Importance, OccurredAt, Classification, Metadata);
    }

    private sealed class Partition
    {
        public readonly Dictionary<(Guid, int), Entry> Entries = [];
        public Entry[] Snapshot = [];
        /// <summary>The snapshot in the order of recording within each agent and session (for neighbours).</summary>
        public Entry[] Ordered = [];
        public Dictionary<(Guid, int), int> PlaceOf = [];
        public bool Dirty;
        public bool OrderDirty = true;
    }

    private readonly SemaphoreSlim syncLock = new(1, 1);
    private Dictionary<(string Tenant, string Subject), Partition> partitions = [];
    private Dictionary<string, HashSet<string>> subjectsOf = [];
    private Dictionary<(string Tenant, Guid MemoryId, int Version), Entry> byKey = [];
    private readonly Dictionary<string, Cursor> cursors = databases.All.ToDictionary(d => d.Name, _ => new Cursor());

    /// <summary>Where the index stands in one database's projection.</summary>
    private sealed class Cursor
    {
        public Guid Epoch;
        public long Watermark = -1;
    }

    /// <summary>The home database's mark (the only one without tenant placement).</summary>
    public long Watermark => Volatile.Read(ref cursors[databases.Home.Name].Watermark);

    /// <summary>Reads what the projection changed since the last call (or everything after a rebuild).</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        await syncLock.WaitAsync(ct);
        try
        {
            // A changed epoch (a rebuild, or the first look) empties the index and reads everything again.
            foreach (var database in databases.All)
                while (!await SyncOnceAsync(database, cursors[database.Name], ct)) { }
        }
        finally
        {
            syncLock.Release();
        }
    }

    /// <summary>One round trip: the epoch, and what changed since the last look. False when it must be read again.</summary>
    private async Task<bool> SyncOnceAsync(TenantDatabase database, Cursor cursor, CancellationToken ct)
    {
        {
            await using var batch = new NpgsqlBatch();
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"select epoch from {RecallSchema.State} where id = 1"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                select tenant_id, subject, memory_id, version, agent, session, kind, tags, valid_from, valid_to,
                    expires_at, embedding, changed_seq, importance, occurred_at, classification, metadata::text, recorded_seq, archived
                from {RecallSchema.Entries} where changed_seq > $1 order by changed_seq
                """) { Parameters = { new() { Value = cursor.Watermark } } });
            await using var connection = await database.DataSource.OpenConnectionAsync(ct);
            batch.Connection = connection;
            await using var reader = await batch.ExecuteReaderAsync(ct);
            var current = await reader.ReadAsync(ct) ? reader.GetGuid(0) : Guid.Empty;
            await reader.NextResultAsync(ct);
            if (current != cursor.Epoch)
            {
                // This database's tenants only (all of them when there is one database).
                partitions = partitions.Where(p => databases.Of(p.Key.Tenant) != database).ToDictionary();
                subjectsOf = subjectsOf.Where(p => databases.Of(p.Key) != database).ToDictionary();
                byKey = byKey.Where(p => databases.Of(p.Key.Tenant) != database).ToDictionary();
                Volatile.Write(ref cursor.Watermark, -1);
                cursor.Epoch = current;
                return current == Guid.Empty;
            }
            if (current == Guid.Empty) return true;

            var seen = cursor.Watermark;
            while (await reader.ReadAsync(ct))
            {
                var tenant = reader.GetString(0);
                var subject = reader.GetString(1);
                var key = (reader.GetGuid(2), reader.GetInt32(3));
                var partition = PartitionFor(tenant, subject);
                if (reader.IsDBNull(11))
                {
                    partition.Entries.Remove(key);
                    byKey.Remove((tenant, key.Item1, key.Item2));
                }
                else
                {
                    partition.Entries[key] = byKey[(tenant, key.Item1, key.Item2)] = new Entry(key.Item1, key.Item2, reader.GetString(4),
                        reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetString(6), (string[])reader[7],
                        reader.GetFieldValue<DateTimeOffset>(8),
                        reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9),
                        reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
                        TextEmbedder.FromBytes((byte[])reader[11]), reader.GetDouble(13), reader.GetFieldValue<DateTimeOffset>(14),
                        reader.GetString(15),
                        reader.IsDBNull(16) ? null : System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, System.Text.Json.JsonElement>>(reader.GetString(16)),
                        reader.GetInt64(17), reader.GetBoolean(18));
                }
                partition.Dirty = true;
                seen = Math.Max(seen, reader.GetInt64(12));
            }
            Volatile.Write(ref cursor.Watermark, seen);
            return true;
        }
    }

    private Partition PartitionFor(string tenant, string subject)
    {
        if (!partitions.TryGetValue((tenant, subject), out var partition))
        {
            partitions[(tenant, subject)] = partition = new Partition();
            if (!subjectsOf.TryGetValue(tenant, out var subjects)) subjectsOf[tenant] = subjects = [];
            subjects.Add(subject);
        }
        return partition;
    }

    /// <summary>The best <paramref name="k"/> entries by cosine similarity among those the filter accepts.</summary>
    public IReadOnlyList<(Entry Entry, float Score)> Search(
        string tenant, string? subject, float[] query, Func<Entry, bool> accept, int k)
    {
        Entry[][] candidates;
        syncLock.Wait();
        try
        {
            var names = subject is not null ? [subject] : subjectsOf.GetValueOrDefault(tenant)?.ToArray() ?? [];
            candidates = names.Select(s => partitions.TryGetValue((tenant, s), out var p) ? SnapshotOf(p) : []).ToArray();
        }
        finally
        {
            syncLock.Release();
        }

        // Exact search: every accepted vector is scored. Past a few tens of thousands the scan is split
        // over the cores, each keeping its own best k, merged at the end.
        var total = candidates.Sum(c => c.Length);
        var parts = total < ParallelThreshold ? 1 : Environment.ProcessorCount;
        // One thread walks the partitions' own arrays; past the threshold the entries are dealt out to the
        // cores (the one copy is then small beside the scan).
        var all = parts == 1 ? null : candidates.SelectMany(c => c).ToArray();
        var heaps = new PriorityQueue<(Entry, float), float>[parts];
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            var best = heaps[part] = new PriorityQueue<(Entry, float), float>(k + 1);
            void Consider(Entry entry)
            {
                if (!accept(entry)) return;
                var score = TextEmbedder.Dot(entry.Vector, query);
                if (best.Count < k) best.Enqueue((entry, score), score);
                else if (score > best.Peek().Item2) best.EnqueueDequeue((entry, score), score);
            }
            if (all is null)
                foreach (var entries in candidates)
                foreach (var entry in entries)
                    Consider(entry);
            else
                for (var i = part; i < all.Length; i += parts) Consider(all[i]);
        });
        return heaps.SelectMany(h => h.UnorderedItems.Select(x => x.Element))
            .OrderByDescending(x => x.Item2).ThenBy(x => x.Item1.MemoryId).Take(k).ToList();
    }

    private const int ParallelThreshold = 20_000;

    /// <summary>The current (not ended, not expired) entries of a tenant, by subject, for consolidation.</summary>
    public IReadOnlyList<(string Subject, Entry Entry)> Current(string tenant, string? subject, DateTimeOffset now)
    {
        syncLock.Wait();
        try
        {
            var names = subject is not null ? [subject] : subjectsOf.GetValueOrDefault(tenant)?.ToArray() ?? [];
            return names
                .SelectMany(s => partitions.TryGetValue((tenant, s), out var p) ? SnapshotOf(p).Select(e => (s, e)) : [])
                .Where(x => x.e.ValidTo is null && (x.e.ExpiresAt is null || x.e.ExpiresAt > now))
                .ToList();
        }
        finally
        {
            syncLock.Release();
        }
    }

    /// <summary>The cosine of each given entry that has an embedding (full-text candidates the search did not bring).</summary>
    public Dictionary<(Guid, int), double> Cosines(string tenant, IEnumerable<(Guid, int)> keys, float[] query)
    {
        var found = new List<((Guid, int) Key, Entry Entry)>();
        syncLock.Wait();
        try
        {
            foreach (var key in keys)
                if (byKey.TryGetValue((tenant, key.Item1, key.Item2), out var entry)) found.Add((key, entry));
        }
        finally
        {
            syncLock.Release();
        }
        return found.ToDictionary(f => f.Key, f => (double)TextEmbedder.Dot(f.Entry.Vector, query));
    }

    /// <summary>
    /// The conversational neighbours of a memory version: the accepted entries of the same subject, agent and
    /// session recorded at most <paramref name="span"/> places before or after it (counting accepted entries
    /// only), and that occurred within <paramref name="window"/> of it (a conversation's turns, not the first
    /// turn of the next day's session).
    /// </summary>
    public IReadOnlyList<Entry> Neighbours(
        string tenant, string subject, Guid memoryId, int version, Func<Entry, bool> accept, int span, TimeSpan window)
    {
        Entry[] ordered;
        int place;
        syncLock.Wait();
        try
        {
            if (!partitions.TryGetValue((tenant, subject), out var p)) return [];
            OrderOf(p);
            ordered = p.Ordered;
            if (!p.PlaceOf.TryGetValue((memoryId, version), out place)) return [];
        }
        finally
        {
            syncLock.Release();
        }
        var of = ordered[place];
        var found = new List<Entry>();
        foreach (var step in (int[])[-1, 1])
        {
            var taken = 0;
            for (var i = place + step; i >= 0 && i < ordered.Length && taken < span; i += step)
            {
                var e = ordered[i];
                if (e.Agent != of.Agent || e.Session != of.Session) break;
                if (e.MemoryId == of.MemoryId || !accept(e)) continue;
                if ((e.OccurredAt - of.OccurredAt).Duration() > window) break;
                found.Add(e);
                taken++;
            }
        }
        return found;
    }

    /// <summary>The cosine of one entry with a query vector (a neighbour the candidates did not bring).</summary>
    public double? Cosine(string tenant, Guid memoryId, int version, float[] query)
    {
        syncLock.Wait();
        try
        {
            return byKey.TryGetValue((tenant, memoryId, version), out var e) ? TextEmbedder.Dot(e.Vector, query) : null;
        }
        finally
        {
            syncLock.Release();
        }
    }

    private static Entry[] SnapshotOf(Partition p)
    {
        if (p.Dirty)
        {
            p.Snapshot = p.Entries.Values.ToArray();
            p.Dirty = false;
            p.OrderDirty = true;
        }
        return p.Snapshot;
    }

    /// <summary>
    /// The partition in the order of recording within each agent and session, sorted again only after a change and
    /// only when a neighbour lookup needs it (a sort of the partition: milliseconds at 100,000 entries).
    /// </summary>
    private static void OrderOf(Partition p)
    {
        SnapshotOf(p);
        if (!p.OrderDirty) return;
        p.Ordered = p.Snapshot.OrderBy(e => e.Agent, StringComparer.Ordinal).ThenBy(e => e.Session, StringComparer.Ordinal)
            .ThenBy(e => e.RecordedSeq).ThenBy(e => e.Version).ToArray();
        p.PlaceOf = new Dictionary<(Guid, int), int>(p.Ordered.Length);
        for (var i = 0; i < p.Ordered.Length; i++) p.PlaceOf[(p.Ordered[i].MemoryId, p.Ordered[i].Version)] = i;
        p.OrderDirty = false;
    }
}

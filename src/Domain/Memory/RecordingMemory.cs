using System.Text.Json;

namespace Aetherra.Domain.Memory;

/// <summary>A memory to record as the client asked for it (already validated), before the domain's defaults (a command, not an event).</summary>
public readonly record struct MemoryToRecord(
    string Content, string Subject, string Agent, string? Session, string Kind, IReadOnlyList<string>? Tags,
    double? Importance, string? Classification, DateTimeOffset? OccurredAt, DateTimeOffset? ExpiresAt, string? Source,
    IReadOnlyDictionary<string, JsonElement>? Metadata = null);

/// <summary>An active memory that already holds some content (by its keyed hash).</summary>
public readonly record struct KnownMemory(Guid Id, int Version);

/// <summary>What recording one memory came to: a new memory, or the memory that already held its content.</summary>
public readonly record struct Recording(Guid Id, int Version, string ContentHash, bool Deduplicated);

public static class RecordingMemory
{
    public const double DefaultImportance = 0.5;
    public const Classification DefaultClassification = Classification.Internal;

    /// <summary>
    /// Records a batch (or one) of memories. The dedup rule: content an active memory of the tenant already holds
    /// (the same keyed hash, <paramref name="known"/>) is answered with that memory and recorded again never; the
    /// same content twice in one batch is recorded once. Ids and sealed content come from the edge:
    /// <paramref name="newId"/> and <paramref name="seal"/> run only for what is recorded.
    /// </summary>
    public static (IReadOnlyList<Recording> Results, IReadOnlyList<MemoryRecorded> Events) Decide(
        IReadOnlyList<MemoryToRecord> memories, IReadOnlyList<string> hashes, IReadOnlyDictionary<string, KnownMemory> known,
        Func<Guid> newId, Func<Guid, MemoryToRecord, EncryptedText> seal, DateTimeOffset now)
    {
        var held = new Dictionary<string, KnownMemory>(known, StringComparer.Ordinal);
        var results = new List<Recording>(memories.Count);
        var events = new List<MemoryRecorded>(memories.Count);
        for (var i = 0; i < memories.Count; i++)
        {
            if (held.TryGetValue(hashes[i], out var hit))
            {
                results.Add(new Recording(hit.Id, hit.Version, hashes[i], Deduplicated: true));
                continue;
            }
            var id = newId();
            events.Add(Record(id, memories[i], seal(id, memories[i]), hashes[i], now));
            held[hashes[i]] = new KnownMemory(id, 1);
            results.Add(new Recording(id, 1, hashes[i], Deduplicated: false));
        }
        return (results, events);
    }

    /// <summary>The defaults: importance 0.5, classification internal, tags once each in their order, occurred now.</summary>
    public static MemoryRecorded Record(Guid id, MemoryToRecord m, EncryptedText content, string contentHash, DateTimeOffset now) => new(
        id, m.Subject, m.Agent, m.Session,
        Enum.Parse<MemoryKind>(m.Kind, ignoreCase: true),
        (m.Tags ?? []).Distinct(StringComparer.Ordinal).ToList(),
        m.Importance ?? DefaultImportance,
        m.Classification is null ? DefaultClassification : Enum.Parse<Classification>(m.Classification, ignoreCase: true),
        m.OccurredAt ?? now, now, m.ExpiresAt, m.Source,
        content, contentHash,
        m.Metadata is { Count: > 0 } metadata ? new Dictionary<string, JsonElement>(metadata) : null);
}

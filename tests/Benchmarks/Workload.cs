using System.Text;
using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Application.Memory;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Benchmarks;

/// <summary>One memory as a client sends it; the same values feed the HTTP body and the raw appends.</summary>
public sealed record MemoryInput(
    string Content, string Subject, string Agent, string Session, MemoryKind Kind, string[] Tags,
    double Importance, Classification Classification, string? Source);

/// <summary>
/// Deterministic, seeded memories: the same seed gives the same stream of inputs, and every input is
/// distinct (the content ends with a marker unique per stream and position), so no write is deduplicated.
/// Subjects come from a pool of 100 and agents from 4, as a multi-user agent platform would send them.
/// </summary>
public sealed class Workload(int seed, string stream)
{
    public const int Subjects = 100;
    private static readonly string[] Words =
    [
        "user", "prefers", "dark", "mode", "meeting", "moved", "to", "thursday", "the", "project", "deadline",
        "is", "next", "week", "customer", "asked", "about", "invoice", "shipping", "address", "changed",
        "allergic", "peanuts", "likes", "short", "answers", "in", "german", "timezone", "berlin", "manager",
        "approved", "budget", "for", "q3", "laptop", "broken", "replacement", "ordered", "call", "back",
        "after", "lunch", "password", "reset", "requested", "vegetarian", "dinner", "booked", "at", "eight"
    ];
    private static readonly string[] Agents = ["planner", "support", "scheduler", "researcher"];
    private static readonly string[] TagPool = ["work", "personal", "billing", "travel", "health", "urgent", "todo", "contact"];
    private static readonly MemoryKind[] Kinds = Enum.GetValues<MemoryKind>();

    private readonly Random _random = new(seed);
    private long _position;

    public MemoryInput Next()
    {
        var content = new StringBuilder(480);
        var words = _random.Next(30, 70);
        for (var i = 0; i < words; i++)
        {
            if (i > 0) content.Append(' ');
            content.Append(Words[_random.Next(Words.Length)]);
        }
        content.Append(" [").Append(stream).Append('#').Append(_position++).Append(']');
        var tags = Enumerable.Range(0, _random.Next(0, 4)).Select(_ => TagPool[_random.Next(TagPool.Length)]).Distinct().ToArray();
        return new MemoryInput(
            content.ToString(),
            $"user-{_random.Next(Subjects):D4}",
            Agents[_random.Next(Agents.Length)],
            $"session-{_random.Next(1000)}",
            Kinds[_random.Next(Kinds.Length)],
            tags,
            Math.Round(_random.NextDouble(), 2),
            _random.Next(3) == 0 ? Classification.Confidential : Classification.Internal,
            _random.Next(4) == 0 ? "chat" : null);
    }

    public static void WriteJson(Utf8JsonWriter json, MemoryInput m)
    {
        json.WriteStartObject();
        json.WriteString("content", m.Content);
        json.WriteString("subject", m.Subject);
        json.WriteString("agent", m.Agent);
        json.WriteString("session", m.Session);
        json.WriteString("kind", m.Kind.ToString().ToLowerInvariant());
        json.WriteStartArray("tags");
        foreach (var tag in m.Tags) json.WriteStringValue(tag);
        json.WriteEndArray();
        json.WriteNumber("importance", m.Importance);
        json.WriteString("classification", m.Classification.ToString().ToLowerInvariant());
        if (m.Source is not null) json.WriteString("source", m.Source);
        json.WriteEndObject();
    }

    /// <summary>The body of POST /memories.</summary>
    public static byte[] SingleBody(MemoryInput m)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer)) WriteJson(json, m);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The body of POST /memories/batch.</summary>
    public static byte[] BatchBody(IEnumerable<MemoryInput> memories)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512 * 1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("memories");
            foreach (var m in memories) WriteJson(json, m);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>
/// Turns inputs into the MemoryRecorded events the server would append: content sealed and hashed with a
/// per-subject data key, exactly as MemoryWriter does, minus the key table and the dedup query.
/// </summary>
public sealed class EventFactory(string tenant)
{
    private readonly Dictionary<string, DataKey> _keys = new(StringComparer.Ordinal);

    public MemoryRecorded Recorded(Guid id, MemoryInput m, DateTimeOffset now)
    {
        if (!_keys.TryGetValue(m.Subject, out var key))
            _keys[m.Subject] = key = new DataKey(Guid.CreateVersion7(), DataKey.NewMaterial());
        return new MemoryRecorded(id, m.Subject, m.Agent, m.Session, m.Kind, m.Tags, m.Importance, m.Classification,
            now, now, null, m.Source, MemoryContent.Seal(key, tenant, id, m.Content), MemoryContent.Hash(key, m.Content, m.Subject, m.Agent));
    }
}

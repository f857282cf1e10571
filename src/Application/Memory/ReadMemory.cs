using Aetherra.Application.Common;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Npgsql;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Memory;

public sealed record MemoryView(
    Guid Id, string? Content, string Subject, string Agent, string? Session, string Kind, IReadOnlyList<string> Tags,
    double Importance, string Classification, DateTimeOffset OccurredAt, DateTimeOffset RecordedAt,
    DateTimeOffset? ExpiresAt, string? Source, int Version, string Status, string ContentHash,
    IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Metadata = null);

public sealed record MemoryHistoryEntry(long Version, string Type, DateTimeOffset At, string? Actor);

public static class ReadMemory
{
    /// <summary>The memory as it is now; its content only while the memory is not forgotten and its key exists.</summary>
    public static async Task<MemoryView> Get(
        Guid id, string tenant, IDocumentStore store, NpgsqlDataSource dataSource, SubjectKeyStore keys,
        TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var memory = await session.LoadAsync<MemoryState>(id, ct) ?? throw new NotFound("memory");
        var found = memory.Content is null
            ? new Dictionary<Guid, DataKey>()
            : await keys.FindAsync(tenant, [memory.Content.KeyId], ct);
        var content = MemoryContent.Open(found, tenant, id, memory.Content);
        foreach (var key in found.Values) key.Dispose();
        return View(memory, content, clock.GetUtcNow());
    }

    /// <summary>A subject's memories that are not forgotten, most recently recorded first, with their content.</summary>
    public static async Task<IReadOnlyList<MemoryView>> OfSubject(
        string subject, int limit, string tenant, IDocumentStore store, NpgsqlDataSource dataSource, SubjectKeyStore keys,
        TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var memories = await session.Query<MemoryState>()
            .Where(m => m.Subject == subject && m.Status != Domain.Memory.MemoryStatus.Forgotten)
            .OrderByDescending(m => m.RecordedAt).Take(limit)
            .ToListAsync(ct);
        var keyIds = memories.Where(m => m.Content is not null).Select(m => m.Content!.KeyId).Distinct().ToArray();
        var found = keyIds.Length == 0 ? new Dictionary<Guid, DataKey>() : await keys.FindAsync(tenant, keyIds, ct);
        var now = clock.GetUtcNow();
        var views = memories.Select(m => View(m, MemoryContent.Open(found, tenant, m.Id, m.Content), now)).ToList();
        foreach (var key in found.Values) key.Dispose();
        return views;
    }

    private static MemoryView View(MemoryState memory, string? content, DateTimeOffset now) =>
        new(memory.Id, content, memory.Subject,
            memory.Agent, memory.Session, Lower(memory.Kind), memory.Tags, memory.Importance, Lower(memory.Classification),
            memory.OccurredAt, memory.RecordedAt, memory.ExpiresAt, memory.Source, memory.Version,
            Lower(memory.StatusAt(now)), memory.ContentHash, memory.Metadata);

    public static async Task<IReadOnlyList<MemoryHistoryEntry>> History(
        Guid id, string tenant, IDocumentStore store, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var events = await session.Events.FetchStreamAsync(id, token: ct);
        if (events.Count == 0 || events[0].Data is not Domain.Memory.MemoryRecorded) throw new NotFound("memory");
        return events.Select(e => new MemoryHistoryEntry(e.Version, e.EventTypeName, e.Timestamp, e.UserName)).ToList();
    }

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}

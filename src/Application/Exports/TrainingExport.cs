using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Aetherra.Application.Common;
using Aetherra.Application.Conversations;
using Aetherra.Application.Memory;
using Aetherra.Domain;
using Aetherra.Domain.Conversations;
using Aetherra.Domain.Decisions;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.AuditLog;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Npgsql;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Exports;

public sealed record ExportedFile(string Name, string Sha256, long Rows, byte[] Content);

public sealed record ExportManifest(string Format, string Tenant, long AsOfSequence, long TreeSize, string RootHash, IReadOnlyList<ExportManifestFile> Files);

public sealed record ExportManifestFile(string Name, string Sha256, long Rows);

/// <summary>
/// A training export of one tenant as of a global sequence: JSON Lines files of the conversations, the memories and
/// the decisions as they were then, with a manifest naming the sequence, the Merkle root of the log at it, and each file's SHA-256 and
/// row count. Everything is folded from the events up to the sequence and written in id order with fixed fields, so
/// the same request at the same sequence gives the same bytes, whatever was written since; except that what was
/// forgotten since is left out (forgetting wins over reproducibility): a memory forgotten at any time, or whose
/// subject's key is destroyed, never appears, nor does a decision about a forgotten subject, nor the content of a
/// forgotten memory a decision cited, nor a conversation with a forgotten subject (its turns are sealed with the
/// subject's key: they are opened only for subjects not forgotten). Used by <c>aetherra export</c> and by
/// <c>POST /exports</c> alike.
/// </summary>
public static class TrainingExport
{
    public const string Format = "aetherra-training-export.v1";
    public static readonly string[] Datasets = ["conversations", "decisions", "memories"];

    /// <summary>The file a dataset is written to, and the manifest's name: the only names an export directory holds.</summary>
    public static string FileOf(string dataset) => dataset + ".jsonl";

    public const string ManifestName = "manifest.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// The files and the manifest. The Merkle log must already cover <paramref name="asOf"/> (its root names the log
    /// the export came from); <paramref name="asOf"/> null: the last event the Merkle log covers.
    /// </summary>
    /// <summary>
    /// The sequence an export is taken as of, checked: known datasets, and a sequence the Merkle log already covers
    /// (null: the last one it covers). Refusals are <see cref="DomainRuleViolated"/>.
    /// </summary>
    public static async Task<long> ResolveAsync(AuditLogStore log, IReadOnlyCollection<string> datasets, long? asOf, CancellationToken ct)
    {
        var unknown = datasets.Where(d => !Datasets.Contains(d)).ToList();
        if (unknown.Count > 0 || datasets.Count == 0)
            throw new DomainRuleViolated($"datasets are {string.Join(", ", Datasets)}; not {string.Join(", ", unknown)}");
        var (_, covered) = await log.TipAsync(ct);
        var sequence = asOf ?? covered;
        if (sequence < 1) throw new DomainRuleViolated("asOfSequence must be 1 or more (and the store must hold an event)");
        if (sequence > covered)
            throw new DomainRuleViolated($"asOfSequence {sequence} is past what the audit log covers yet ({covered}): retry shortly, or export as of {covered}");
        return sequence;
    }

    public static async Task<(ExportManifest Manifest, IReadOnlyList<ExportedFile> Files)> BuildAsync(
        IDocumentStore store, NpgsqlDataSource db, SubjectKeyStore keys, AuditLogStore log, string tenant,
        IReadOnlyCollection<string> datasets, long? asOf, CancellationToken ct)
    {
        var sequence = await ResolveAsync(log, datasets, asOf, ct);

        await using var session = store.QuerySession(tenant);
        var events = await session.Events.QueryAllRawEvents().Where(e => e.Sequence <= sequence).OrderBy(e => e.Sequence).ToListAsync(ct);
        var memories = new SortedDictionary<Guid, MemoryState>();
        var decisions = new SortedDictionary<Guid, Decision>();
        var conversations = new SortedDictionary<Guid, Conversation>();
        var forgottenSubjects = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case ConversationStarted c: conversations[c.ConversationId] = Conversation.Create(c); break;
                case TurnRecorded t when conversations.TryGetValue(t.ConversationId, out var c): conversations[t.ConversationId] = c.Apply(t); break;
                case ConversationClosed x when conversations.TryGetValue(x.ConversationId, out var c): conversations[x.ConversationId] = c.Apply(x); break;
                case MemoryRecorded r: memories[r.MemoryId] = MemoryState.Create(r); break;
                case MemoryRevised r when memories.TryGetValue(r.MemoryId, out var m): memories[r.MemoryId] = m.Apply(r); break;
                case MemoryForgotten r when memories.TryGetValue(r.MemoryId, out var m): memories[r.MemoryId] = m.Apply(r); break;
                case MemoryReinforced r when memories.TryGetValue(r.MemoryId, out var m): memories[r.MemoryId] = m.Apply(r); break;
                case MemorySuperseded r when memories.TryGetValue(r.MemoryId, out var m): memories[r.MemoryId] = m.Apply(r); break;
                case MemoriesConsolidated r when memories.TryGetValue(r.MemoryId, out var m): memories[r.MemoryId] = m.Apply(r); break;
                case DecisionProposed p: decisions[p.DecisionId] = Decision.Create(p); break;
                case DecisionAutoApproved a when decisions.TryGetValue(a.DecisionId, out var d): decisions[a.DecisionId] = d.Apply(a); break;
                case DecisionEscalated a when decisions.TryGetValue(a.DecisionId, out var d): decisions[a.DecisionId] = d.Apply(a); break;
                case DecisionApproved a when decisions.TryGetValue(a.DecisionId, out var d): decisions[a.DecisionId] = d.Apply(a, null); break;
                case DecisionRejected a when decisions.TryGetValue(a.DecisionId, out var d): decisions[a.DecisionId] = d.Apply(a, null); break;
                case DecisionOutcomeRecorded a when decisions.TryGetValue(a.DecisionId, out var d): decisions[a.DecisionId] = d.Apply(a); break;
            }
        }
        // Forgetting is final: what was forgotten after the sequence is left out too.
        await using (var cmd = db.CreateCommand($"select distinct data->>'subject' from {AetherraSettings.Schema}.mt_events where tenant_id = $1 and type = 'subject.forgotten.v1'"))
        {
            cmd.Parameters.Add(new() { Value = tenant });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) if (!reader.IsDBNull(0)) forgottenSubjects.Add(reader.GetString(0));
        }
        var forgottenNow = (await session.Query<MemoryState>().Where(m => m.Status == MemoryStatus.Forgotten).Select(m => m.Id).ToListAsync(ct)).ToHashSet();
        // Each cited memory's content at the cited version, folded from the same events.
        var versions = new Dictionary<(Guid, int), EncryptedText?>();
        var cited = decisions.Values.SelectMany(d => d.Evidence).Select(c => (c.MemoryId, c.Version)).ToHashSet();
        var folding = new Dictionary<Guid, MemoryState>();
        foreach (var e in events)
        {
            MemoryState? next = e.Data switch
            {
                MemoryRecorded r => MemoryState.Create(r),
                MemoryRevised r when folding.TryGetValue(r.MemoryId, out var m) => m.Apply(r),
                MemoryForgotten r when folding.TryGetValue(r.MemoryId, out var m) => m.Apply(r),
                MemoryReinforced r when folding.TryGetValue(r.MemoryId, out var m) => m.Apply(r),
                MemorySuperseded r when folding.TryGetValue(r.MemoryId, out var m) => m.Apply(r),
                MemoriesConsolidated r when folding.TryGetValue(r.MemoryId, out var m) => m.Apply(r),
                _ => null,
            };
            if (next is null) continue;
            folding[next.Id] = next;
            if (cited.Contains((next.Id, next.Version))) versions[(next.Id, next.Version)] = next.Content;
        }

        // Conversations of subjects forgotten at any time are left out whole: their turns are never opened.
        var kept = conversations.Values.Where(c => !forgottenSubjects.Contains(c.Subject)).ToList();
        var sealedTexts = memories.Values.Select(m => m.Content).Concat(versions.Values)
            .Concat(kept.SelectMany(c => c.Turns).Select(t => (EncryptedText?)t.Content))
            .OfType<EncryptedText>().Select(c => c.KeyId).Distinct().ToList();
        var found = await keys.FindAsync(tenant, sealedTexts, ct);
        try
        {
            var files = new List<ExportedFile>();
            if (datasets.Contains("conversations"))
                files.Add(Write(FileOf("conversations"), kept
                    .Select(c => (Conversation: c, Turns: c.Turns.Select(t => (Turn: t, Content: ConversationContent.Open(found, tenant, c.Id, t.Number, t.Content))).ToList()))
                    // A subject whose key is gone (destroyed by forgetting) is forgotten: nothing of it appears.
                    .Where(x => x.Turns.All(t => t.Content is not null))
                    .Select(x => (object)new
                    {
                        id = x.Conversation.Id, subject = x.Conversation.Subject, agent = x.Conversation.Agent, title = x.Conversation.Title,
                        status = x.Conversation.Status, startedAt = x.Conversation.StartedAt.UtcDateTime,
                        turns = x.Turns.Select(t => new
                        {
                            turn = t.Turn.Number, role = t.Turn.Role, content = t.Content, at = t.Turn.At.UtcDateTime,
                            citations = t.Turn.Citations.Select(c => new { memoryId = c.MemoryId, version = c.Version }).ToList(),
                            reply = t.Turn.Reply is { } r ? new { provider = r.Provider, model = r.Model, generated = r.Generated, replyTo = r.ReplyTo } : null,
                        }).ToList(),
                    })));
            if (datasets.Contains("decisions"))
                files.Add(Write(FileOf("decisions"), decisions.Values.Where(d => d.Subject is null || !forgottenSubjects.Contains(d.Subject)).Select(d => (object)new
                {
                    id = d.Id, agent = d.Agent, category = d.Category, action = d.Action, confidence = d.Confidence, rationale = d.Rationale,
                    risk = d.Risk, subject = d.Subject, status = d.Status, threshold = d.Threshold, autoApproved = d.AutoApproved,
                    proposedAt = d.ProposedAt.UtcDateTime, review = d.Review is { } r ? new { decision = r.Approved ? "approved" : "rejected", note = r.Note, at = r.At.UtcDateTime } : null,
                    outcome = d.Outcome is { } o ? new { success = o.Success, score = o.Score, note = o.Note, at = o.At.UtcDateTime } : null,
                    evidence = d.Evidence.Select(c =>
                    {
                        var content = forgottenNow.Contains(c.MemoryId) || (memories.TryGetValue(c.MemoryId, out var m) && forgottenSubjects.Contains(m.Subject))
                            ? null
                            : MemoryContent.Open(found, tenant, c.MemoryId, versions.GetValueOrDefault((c.MemoryId, c.Version)));
                        return new { memoryId = c.MemoryId, version = c.Version, content, forgotten = content is null };
                    }).ToList(),
                })));
            if (datasets.Contains("memories"))
                files.Add(Write(FileOf("memories"), memories.Values
                    .Where(m => m.Status == MemoryStatus.Active && !forgottenNow.Contains(m.Id) && !forgottenSubjects.Contains(m.Subject))
                    .Select(m => (Memory: m, Content: MemoryContent.Open(found, tenant, m.Id, m.Content)))
                    .Where(x => x.Content is not null)
                    .Select(x => (object)new
                    {
                        id = x.Memory.Id, version = x.Memory.Version, subject = x.Memory.Subject, agent = x.Memory.Agent, session = x.Memory.Session,
                        kind = x.Memory.Kind, tags = x.Memory.Tags, importance = x.Memory.Importance, classification = x.Memory.Classification,
                        occurredAt = x.Memory.OccurredAt.UtcDateTime, recordedAt = x.Memory.RecordedAt.UtcDateTime, source = x.Memory.Source, content = x.Content,
                    })));
            var treeSize = await TreeSizeAtAsync(db, sequence, ct);
            var root = await log.RootAsync(treeSize, ct);
            var manifest = new ExportManifest(Format, tenant, sequence, treeSize, Convert.ToBase64String(root),
                files.OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => new ExportManifestFile(f.Name, f.Sha256, f.Rows)).ToList());
            return (manifest, files);
        }
        finally
        {
            foreach (var key in found.Values) key.Dispose();
        }
    }

    /// <summary>Writes the files and manifest.json into <paramref name="dir"/> (created).</summary>
    public static async Task WriteAsync(string dir, ExportManifest manifest, IReadOnlyList<ExportedFile> files, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        foreach (var file in files) await File.WriteAllBytesAsync(Path.Combine(dir, file.Name), file.Content, ct);
        await File.WriteAllBytesAsync(Path.Combine(dir, ManifestName), ManifestBytes(manifest), ct);
    }

    public static byte[] ManifestBytes(ExportManifest manifest) => JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions(Json) { WriteIndented = true });

    private static ExportedFile Write(string name, IEnumerable<object> rows)
    {
        using var buffer = new MemoryStream();
        var count = 0L;
        foreach (var row in rows)
        {
            JsonSerializer.Serialize(buffer, row, Json);
            buffer.WriteByte((byte)'\n');
            count++;
        }
        var bytes = buffer.ToArray();
        return new ExportedFile(name, Convert.ToHexStringLower(SHA256.HashData(bytes)), count, bytes);
    }

    /// <summary>The size of the Merkle tree whose last leaf is the event at or before the sequence.</summary>
    private static async Task<long> TreeSizeAtAsync(NpgsqlDataSource db, long sequence, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"select count(*) from {AuditLogSchema.Leaves} where sequence <= $1");
        cmd.Parameters.Add(new() { Value = sequence });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}

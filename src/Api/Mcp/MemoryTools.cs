using System.ComponentModel;
using System.Text;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Memory;
using Aetherra.Application.Recall;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Npgsql;

namespace Aetherra.Api.Mcp;

/// <summary>Memory as MCP tools: the same use cases as Api/Memory's routes, with the routes' field names.</summary>
[McpServerToolType]
public static class MemoryTools
{
    private const string SubjectHelp =
        "Whom or what the memory is about: a user, customer or project id (e.g. 'user-42'). Memories are kept, encrypted and forgotten per subject.";
    private const string AgentHelp = "The assistant or agent recording it (e.g. 'support-bot').";
    private const string FilterHelp =
        "Only memories matching this condition tree, as in POST /recall: {\"and\": [...]}, {\"or\": [...]}, {\"not\": {...}} or " +
        "{field: {op: value}} with ops eq, ne, gt, gte, lt, lte, in, nin, contains over kind, tags, agent, session, importance, " +
        "occurredAt, classification and metadata.<key>. Example: {\"and\": [{\"importance\": {\"gte\": 0.7}}, {\"metadata.project\": {\"eq\": \"apollo\"}}]}.";
    private const string MinSequenceHelp =
        "Read-your-writes: the 'sequence' a previous write returned; the read waits until it includes that write.";

    [McpServerTool(Name = "remember", Title = "Remember", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = false,
         UseStructuredContent = true, OutputSchemaType = typeof(RecordMemoryResult)),
     Description("Record a memory: a fact, preference, instruction, episode or observation about a subject, to recall later. " +
                 "Recording the same content for the same subject and agent again returns the existing memory (deduplicated). " +
                 "Returns its id and the sequence to pass as minSequence to read it back at once."),
     McpAccess(Scopes.MemoryWrite, Action = MemoryActions.Record)]
    public static async Task<CallToolResult> Remember(
        [Description("The memory itself, in plain language (at most 16384 characters).")] string content,
        [Description(SubjectHelp)] string subject,
        [Description(AgentHelp)] string agent,
        [Description("One of: fact, preference, episode, instruction, observation.")] string kind,
        McpCall call,
        IValidator<RecordMemory> validator,
        IDocumentStore store,
        SubjectKeyStore keys,
        TimeProvider clock,
        [Description("The conversation or session it came from, if any.")] string? session = null,
        [Description("Labels to filter by later (at most 32).")] string[]? tags = null,
        [Description("How much it matters, 0 to 1 (default 0.5): important memories rank higher in recall.")] double? importance = null,
        [Description("public, internal (default) or confidential.")] string? classification = null,
        [Description("When it happened (ISO 8601); default now.")] DateTimeOffset? occurredAt = null,
        [Description("When it stops being true (ISO 8601); after that it is no longer recalled.")] DateTimeOffset? expiresAt = null,
        [Description("Where it came from (a URL, a document, a message id).")] string? source = null,
        CancellationToken ct = default)
    {
        var body = new RecordMemory(content, subject, agent, session, kind, tags, importance, classification, occurredAt, expiresAt, source);
        await McpGate.ValidateAsync(validator, body, ct);
        var r = await RecordMemoryHandler.Handle(body, call.Command, store, keys, clock, ct);
        return McpJson.Result(r, r.Deduplicated
            ? $"Already remembered as memory {r.Id} (version {r.Version}); nothing new recorded."
            : $"Remembered as memory {r.Id} (sequence {r.Sequence}).");
    }

    [McpServerTool(Name = "recall", Title = "Recall", ReadOnly = true, Idempotent = true, OpenWorld = false,
         UseStructuredContent = true, OutputSchemaType = typeof(RecallResponse)),
     Description("Find the memories relevant to a question or topic, best first (hybrid full-text and semantic search, " +
                 "weighted by recency and importance). Recall before answering anything that may depend on what is known " +
                 "about a subject: preferences, past decisions, instructions. Narrow by subject whenever you know it."),
     McpAccess(Scopes.MemoryRead)]
    public static async Task<CallToolResult> Recall(
        [Description("The question or topic, in natural language (at most 2000 characters).")] string query,
        McpCall call,
        IValidator<RecallRequest> validator,
        RecallQuery recall,
        [Description(SubjectHelp + " Only this subject's memories.")] string? subject = null,
        [Description("Only memories recorded by this agent.")] string? agent = null,
        [Description("Only memories of this session.")] string? session = null,
        [Description("Only these kinds: fact, preference, episode, instruction, observation.")] string[]? kinds = null,
        [Description("Only memories carrying all these tags.")] string[]? tags = null,
        [Description("How many results, 1 to 100 (default 10).")] int? limit = null,
        [Description("Recall as things stood at this time (ISO 8601): revisions made since are ignored.")] DateTimeOffset? asOf = null,
        [Description(MinSequenceHelp)] long? minSequence = null,
        [Description("Include each result's score components.")] bool? explain = null,
        [Description(FilterHelp)] System.Text.Json.JsonElement? filter = null,
        [Description("Tiers to search besides the live one: [\"archive\"] includes memories the archive policy moved out of default recall.")] string[]? tiers = null,
        CancellationToken ct = default)
    {
        // The same request, validator and query as POST /recall: one filter implementation, one set of errors
        // (keyed by the JSON path of the bad node, e.g. filter.and[1].importance.gte).
        var body = new RecallRequest(query, subject, agent, session, kinds, tags, limit, asOf, minSequence, explain, filter, tiers);
        await McpGate.ValidateAsync(validator, body, ct);
        var r = await recall.RunAsync(call.Tenant, body, ct);
        return McpJson.Result(r, Cite(r.Results));
    }

    [McpServerTool(Name = "get_memory", Title = "Get a memory", ReadOnly = true, Idempotent = true, OpenWorld = false,
         UseStructuredContent = true, OutputSchemaType = typeof(MemoryView)),
     Description("Read one memory by id, as it is now: content, subject, kind, tags, importance, version and status " +
                 "(a forgotten memory has no content)."),
     McpAccess(Scopes.MemoryRead)]
    public static async Task<CallToolResult> GetMemory(
        [Description("The memory's id.")] Guid id,
        McpCall call,
        IDocumentStore store,
        TenantDatabases databases,
        SubjectKeyStore keys,
        TimeProvider clock,
        [Description(MinSequenceHelp)] long? minSequence = null,
        CancellationToken ct = default)
    {
        var db = databases.For(call.Tenant);
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        var m = await ReadMemory.Get(id, call.Tenant, store, db, keys, clock, ct);
        return McpJson.Result(m, $"Memory {m.Id} (v{m.Version}, {m.Status}, {m.Kind} about {m.Subject}): {m.Content ?? "(no content: forgotten)"}");
    }

    [McpServerTool(Name = "memory_history", Title = "Memory history", ReadOnly = true, Idempotent = true, OpenWorld = false,
         UseStructuredContent = true, OutputSchemaType = typeof(MemoryHistory)),
     Description("The history of one memory: each recorded, revised, reinforced or forgotten event with its version, time and actor."),
     McpAccess(Scopes.MemoryRead)]
    public static async Task<CallToolResult> History(
        [Description("The memory's id.")] Guid id,
        McpCall call,
        IDocumentStore store,
        TenantDatabases databases,
        TimeProvider clock,
        [Description(MinSequenceHelp)] long? minSequence = null,
        CancellationToken ct = default)
    {
        var db = databases.For(call.Tenant);
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        var entries = await ReadMemory.History(id, call.Tenant, store, ct);
        return McpJson.Result(new MemoryHistory(id, entries),
            $"Memory {id}: " + string.Join("; ", entries.Select(e => $"v{e.Version} {e.Type} at {e.At:O}")));
    }

    [McpServerTool(Name = "revise_memory", Title = "Revise a memory", ReadOnly = false, Destructive = false, Idempotent = false,
         OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ReviseMemoryResult)),
     Description("Replace a memory's content when it has changed or was wrong, giving the reason. The previous version stays in " +
                 "its history. Pass expectedVersion (from get_memory) to refuse the change if someone revised it meanwhile."),
     McpAccess(Scopes.MemoryWrite, Action = MemoryActions.Revise)]
    public static async Task<CallToolResult> Revise(
        [Description("The memory's id.")] Guid id,
        [Description("The new content (at most 16384 characters).")] string content,
        [Description("Why it changed (at most 1000 characters).")] string reason,
        McpCall call,
        IValidator<ReviseMemory> validator,
        IDocumentStore store,
        SubjectKeyStore keys,
        TimeProvider clock,
        [Description("The version you read; the revision is refused (version conflict) if the memory is at another.")] long? expectedVersion = null,
        CancellationToken ct = default)
    {
        var body = new ReviseMemory(content, reason, expectedVersion);
        await McpGate.ValidateAsync(validator, body, ct);
        var r = await ReviseMemoryHandler.Handle(id, body, call.Command, store, keys, clock, ct);
        return McpJson.Result(r, $"Memory {r.Id} revised to version {r.Version}.");
    }

    [McpServerTool(Name = "forget_memory", Title = "Forget a memory", ReadOnly = false, Destructive = true, Idempotent = true,
         OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ForgetMemoryResult)),
     Description("Forget one memory: it is no longer recalled and its content is no longer readable. Use when a user asks to " +
                 "delete something, or when it is no longer true and should not be kept."),
     McpAccess(Scopes.MemoryWrite, Action = MemoryActions.Forget)]
    public static async Task<CallToolResult> Forget(
        [Description("The memory's id.")] Guid id,
        McpCall call,
        IDocumentStore store,
        TimeProvider clock,
        [Description("Why it is forgotten (at most 1000 characters).")] string? reason = null,
        CancellationToken ct = default)
    {
        if (reason?.Length > MemoryLimits.MaxReasonLength)
            throw new McpInvalidArguments(new Dictionary<string, string[]>
            {
                ["reason"] = [$"The length of 'Reason' must be {MemoryLimits.MaxReasonLength} characters or fewer."]
            });
        var r = await ForgetMemoryHandler.Handle(id, reason, call.Command, store, clock, ct);
        return McpJson.Result(r, $"Memory {r.Id} forgotten.");
    }

    [McpServerTool(Name = "forget_subject", Title = "Forget a subject", ReadOnly = false, Destructive = true, Idempotent = true,
         OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ForgetSubjectResult)),
     Description("Forget everything about a subject (right to erasure): destroys the subject's encryption key and forgets all " +
                 "its memories, in this tenant only. Irreversible; only on an explicit request to erase the subject."),
     McpAccess(Scopes.MemoryWrite, Action = MemoryActions.ForgetSubject)]
    public static async Task<CallToolResult> ForgetSubject(
        [Description(SubjectHelp)] string subject,
        McpCall call,
        IDocumentStore store,
        SubjectKeyStore keys,
        TimeProvider clock,
        CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(subject) || subject.Length > MemoryLimits.MaxNameLength)
            throw new McpInvalidArguments(new Dictionary<string, string[]>
            {
                ["subject"] = [$"'Subject' must be 1 to {MemoryLimits.MaxNameLength} characters."]
            });
        var r = await ForgetSubjectHandler.Handle(subject, call.Command, store, keys, clock, ct);
        return McpJson.Result(r, $"Subject '{r.Subject}' forgotten: {r.MemoriesForgotten} memories.");
    }

    /// <summary>The recalled memories as short cited lines, for an assistant that reads only text.</summary>
    internal static string Cite(IReadOnlyList<RecallResult> results)
    {
        if (results.Count == 0) return "No memory matches.";
        var text = new StringBuilder($"{results.Count} memories, best first:");
        foreach (var r in results)
            text.Append($"\n- [{r.Id} v{r.Version}] ({r.Kind}, {r.Subject}, score {r.Score:0.###}) {r.Content}");
        return text.ToString();
    }
}

public sealed record MemoryHistory(Guid Id, IReadOnlyList<MemoryHistoryEntry> Entries);

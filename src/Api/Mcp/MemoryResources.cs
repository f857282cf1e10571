using System.ComponentModel;
using System.Text;
using System.Text.Json;
using Aetherra.Application.Keys;
using Aetherra.Application.Memory;
using Aetherra.Application.Recall;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using ModelContextProtocol.Server;
using Npgsql;

namespace Aetherra.Api.Mcp;

/// <summary>
/// Memories as MCP resources (a client attaches them to a conversation) and the <c>recall-context</c> prompt: both
/// read with <c>memory:read</c>, as the routes they mirror (GET /memories/{id}, POST /recall).
/// </summary>
[McpServerResourceType, McpServerPromptType]
public static class MemoryResources
{
    public const int SubjectLimit = 100;

    [McpServerResource(UriTemplate = "aetherra://memories/{id}", Name = "memory", Title = "A memory", MimeType = "application/json"),
     Description("One memory as GET /memories/{id} answers it: content, subject, kind, tags, importance, version, status.")]
    public static async Task<string> Memory(
        [Description("The memory's id.")] string id,
        McpCall call, IDocumentStore store, TenantDatabases databases, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(call.Tenant);
        if (!Guid.TryParse(id, out var memoryId)) throw new Application.Common.NotFound("memory");
        var memory = await ReadMemory.Get(memoryId, call.Tenant, store, db, keys, clock, ct);
        return JsonSerializer.Serialize(memory, McpJson.Options);
    }

    [McpServerResource(UriTemplate = "aetherra://subjects/{subject}/memories", Name = "subject-memories", Title = "A subject's memories",
         MimeType = "application/json"),
     Description("Everything remembered about one subject that is not forgotten, most recent first (at most 100).")]
    public static async Task<string> SubjectMemories(
        [Description("The subject (a user, customer or project id).")] string subject,
        McpCall call, IDocumentStore store, TenantDatabases databases, SubjectKeyStore keys, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(call.Tenant);
        var memories = await ReadMemory.OfSubject(Uri.UnescapeDataString(subject), SubjectLimit, call.Tenant, store, db, keys, clock, ct);
        return JsonSerializer.Serialize(new { subject, items = memories }, McpJson.Options);
    }

    [McpServerPrompt(Name = "recall-context", Title = "Recall context"),
     Description("The memories relevant to a question, each cited by id, ready to paste into a system prompt.")]
    public static async Task<string> RecallContext(
        [Description("The question or task the context is for.")] string question,
        McpCall call, IValidator<RecallRequest> validator, RecallQuery recall,
        [Description("Only this subject's memories (a user, customer or project id).")] string? subject = null,
        [Description("How many memories, 1 to 100 (default 10).")] int? limit = null,
        CancellationToken ct = default)
    {
        var request = new RecallRequest(question, subject, null, null, null, null, limit, null, null, null);
        await McpGate.ValidateAsync(validator, request, ct);
        var results = (await recall.RunAsync(call.Tenant, request, ct)).Results;
        var text = new StringBuilder();
        text.AppendLine("What you remember that bears on the question below (from Aetherra; cite a memory as [id] when you rely on it,");
        text.AppendLine("and prefer it over assumptions):");
        if (results.Count == 0) text.AppendLine("- nothing relevant is remembered.");
        foreach (var r in results)
            text.AppendLine($"- [{r.Id}] ({r.Kind} about {r.Subject}, recorded by {r.Agent}, {r.OccurredAt:yyyy-MM-dd}): {r.Content}");
        text.AppendLine().Append("Question: ").Append(question);
        return text.ToString();
    }
}

using System.ComponentModel;
using System.Text.Json;
using Aetherra.Application.Conversations;
using Aetherra.Application.Keys;
using FluentValidation;
using Marten;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Aetherra.Api.Mcp;

/// <summary>Conversations as MCP tools: the same use cases as Api/Conversations' routes, with the routes' field names.</summary>
[McpServerToolType]
public static class ConversationTools
{
    private const string IdHelp = "The conversation's id (from start_conversation).";

    [McpServerTool(Name = "start_conversation", Title = "Start a conversation", ReadOnly = false, Destructive = false, Idempotent = false,
         OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(StartConversationResult)),
     Description("Open a conversation with a subject, to log its turns (record_turn) or to have Aetherra answer them grounded in " +
                 "the subject's memories (reply). What the user says is extracted into memories about the subject afterwards, " +
                 "with the conversation and turn as their source, unless extraction is false."),
     McpAccess(Scopes.ConversationsWrite, Action = ConversationActions.Start)]
    public static async Task<CallToolResult> Start(
        [Description("Whom the conversation is with or about: a user, customer or project id (e.g. 'user-42'). Its turns are " +
                     "encrypted with this subject's key and forgotten with it.")] string subject,
        [Description("The assistant or agent holding the conversation (e.g. 'support-bot').")] string agent,
        McpCall call, IValidator<StartConversation> validator, IDocumentStore store, TimeProvider clock,
        [Description("A title, if any.")] string? title = null,
        [Description("Whether user turns are extracted into memories (default true).")] bool? extraction = null,
        CancellationToken ct = default)
    {
        var body = new StartConversation(subject, agent, title, extraction);
        await McpGate.ValidateAsync(validator, body, ct);
        var r = await StartConversationHandler.Handle(body, call.Command, store, clock, ct);
        return McpJson.Result(r, $"Conversation {r.Id} started with {subject} (sequence {r.Sequence}).");
    }

    [McpServerTool(Name = "record_turn", Title = "Record a turn", ReadOnly = false, Destructive = false, Idempotent = false,
         OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(RecordTurnResult)),
     Description("Log one turn of a conversation whose replies you generate yourself: what the user said (role 'user'), what " +
                 "you answered ('assistant') or a tool's output ('tool'). Nothing is generated. A user turn is extracted into " +
                 "memories afterwards."),
     McpAccess(Scopes.ConversationsWrite, Action = ConversationActions.RecordTurn)]
    public static async Task<CallToolResult> RecordTurn(
        [Description(IdHelp)] Guid id,
        [Description("user, assistant or tool.")] string role,
        [Description("What was said (at most 16384 characters).")] string content,
        McpCall call, IValidator<RecordTurn> validator, ConversationEngine engine,
        CancellationToken ct = default)
    {
        var body = new RecordTurn(role, content);
        await McpGate.ValidateAsync(validator, body, ct);
        var r = await RecordTurnHandler.Handle(id, body, call.Command, engine, ct);
        return McpJson.Result(r, $"Turn {r.Turn} recorded (sequence {r.Sequence}).");
    }

    [McpServerTool(Name = "reply", Title = "Reply", ReadOnly = false, Destructive = false, Idempotent = false,
         OpenWorld = true, UseStructuredContent = true, OutputSchemaType = typeof(ReplyResult)),
     Description("Have Aetherra answer the user's message: it records the message as a user turn, recalls the subject's " +
                 "memories, asks the configured model (or, with none, quotes the memories) and records the answer as an " +
                 "assistant turn citing the memories it used (memoryId and version). If every model fails the user turn is " +
                 "still kept and the error says so."),
     McpAccess(Scopes.ConversationsWrite, Action = ConversationActions.Reply)]
    public static async Task<CallToolResult> Reply(
        [Description(IdHelp)] Guid id,
        [Description("The user's message (at most 16384 characters).")] string message,
        McpCall call, IValidator<ReplyRequest> validator, ConversationEngine engine,
        [Description("How many memories to recall for the answer, 1 to 50 (default 8).")] int? limit = null,
        [Description("Read-your-writes: the 'sequence' of a memory just written; recall waits until it includes that write.")] long? minSequence = null,
        CancellationToken ct = default)
    {
        var body = new ReplyRequest(message, limit, minSequence);
        await McpGate.ValidateAsync(validator, body, ct);
        var stream = await ReplyToConversation.StartAsync(id, body, call.Command, engine, ct);
        var last = await stream.LastAsync(ct);
        if (last.Event == "error") throw stream.Failure!;
        var r = JsonSerializer.Deserialize<ReplyResult>(last.Data, JsonSerializerOptions.Web)!;
        var cited = r.Citations.Count == 0 ? "no memory cited" : "citing " + string.Join(", ", r.Citations.Select(c => $"{c.MemoryId} v{c.Version}"));
        return McpJson.Result(r, $"{r.Content}\n\n(turn {r.Turn}, {(r.Generated ? $"{r.Provider}/{r.Model}" : "no model: the memories quoted")}, {cited})");
    }
}

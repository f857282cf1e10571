using System.ComponentModel;
using Aetherra.Application.Decisions;
using Aetherra.Application.Keys;
using Aetherra.Domain.Decisions;
using FluentValidation;
using Marten;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Aetherra.Api.Mcp;

/// <summary>Decisions as MCP tools: the same use cases as Api/Decisions' routes, with the routes' field names.</summary>
[McpServerToolType]
public static class DecisionTools
{
    [McpServerTool(Name = "propose_decision", Title = "Propose a decision", ReadOnly = false, Destructive = false, Idempotent = false,
         OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ProposeDecisionResult)),
     Description("Before acting on something that matters, propose the action with your confidence and rationale, citing the " +
                 "memories it rests on. The autonomy governor answers 'approved' (act now) or 'escalated' (wait for a human " +
                 "to approve). Afterwards, report what happened with record_outcome: that is how the threshold learns."),
     McpAccess(Scopes.DecisionsWrite, Action = DecisionActions.Propose)]
    public static async Task<CallToolResult> Propose(
        [Description("The agent proposing (e.g. 'support-bot').")] string agent,
        [Description("The kind of action, which has its own learned threshold (e.g. 'refund', 'email').")] string category,
        [Description("What you intend to do, concretely.")] string action,
        [Description("Your confidence that it is right, 0 to 1.")] double confidence,
        [Description("Why: the reasoning behind the action.")] string rationale,
        [Description("low, medium or high. High-risk actions are escalated unless the category allows them.")] Risk risk,
        McpCall call, IValidator<ProposeDecision> validator, IDocumentStore store, AutonomySettings settings, TimeProvider clock,
        [Description("The memories it rests on: each {memoryId, version} (from recall or get_memory).")] EvidenceInput[]? evidence = null,
        [Description("The subject it concerns, if any.")] string? subject = null,
        CancellationToken ct = default)
    {
        var body = new ProposeDecision(agent, category, action, confidence, rationale, risk, evidence, subject);
        await McpGate.ValidateAsync(validator, body, ct);
        var r = await ProposeDecisionHandler.Handle(body, call.Command, store, settings, clock, ct);
        return McpJson.Result(r, $"Decision {r.Id} {r.Status} (threshold {r.Threshold:0.###}): {r.Reason}");
    }

    [McpServerTool(Name = "record_outcome", Title = "Record a decision's outcome", ReadOnly = false, Destructive = false,
         Idempotent = false, OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(RecordOutcomeResult)),
     Description("Report what came of an approved decision: success or failure, and optionally a score and a note. The " +
                 "agent's threshold for that category moves with its track record."),
     McpAccess(Scopes.DecisionsWrite, Action = DecisionActions.Outcome)]
    public static async Task<CallToolResult> RecordOutcome(
        [Description("The decision's id (from propose_decision).")] Guid id,
        [Description("Whether the action achieved what it was meant to.")] bool success,
        McpCall call, IValidator<RecordOutcome> validator, IDocumentStore store, AutonomySettings settings, TimeProvider clock,
        [Description("A measure of how well it went, if there is one.")] double? score = null,
        [Description("What happened, briefly.")] string? note = null,
        CancellationToken ct = default)
    {
        var body = new RecordOutcome(success, score, note);
        await McpGate.ValidateAsync(validator, body, ct);
        var r = await RecordOutcomeHandler.Handle(id, body, call.Command, store, settings, clock, ct);
        return McpJson.Result(r, $"Outcome recorded for decision {r.Id} ({r.Status}); threshold now {r.Threshold:0.###}.");
    }

    [McpServerTool(Name = "list_pending_decisions", Title = "Pending decisions", ReadOnly = true, Idempotent = true, OpenWorld = false,
         UseStructuredContent = true, OutputSchemaType = typeof(DecisionPage)),
     Description("The approval queue: decisions escalated to a human and not yet approved or rejected, oldest first."),
     McpAccess(Scopes.DecisionsRead)]
    public static async Task<CallToolResult> ListPending(
        McpCall call, IValidator<DecisionQuery> validator, IDocumentStore store,
        [Description("Only this agent's decisions.")] string? agent = null,
        [Description("Only this category.")] string? category = null,
        [Description("The 'next' cursor of the previous page.")] long? after = null,
        [Description("Page size.")] int? limit = null,
        CancellationToken ct = default)
    {
        var query = new DecisionQuery("escalated", agent, category, after, limit);
        await McpGate.ValidateAsync(validator, query, ct);
        await using var session = store.QuerySession(call.Tenant);
        var page = await ListDecisions.Handle(session, query, ct);
        return McpJson.Result(page, page.Items.Count == 0
            ? "No decision awaits approval."
            : $"{page.Items.Count} awaiting approval:" + string.Concat(page.Items.Select(d =>
                $"\n- [{d.Id}] {d.Agent}/{d.Category}: {d.Action} (confidence {d.Confidence:0.##}, risk {d.Risk}): {d.EscalationReason}")));
    }
}

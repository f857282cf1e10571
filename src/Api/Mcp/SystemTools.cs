using System.ComponentModel;
using Aetherra.Application.Homeostasis;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.AuditLog;
using Marten;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Aetherra.Api.Mcp;

/// <summary>The audit log's verification and the system's health, as MCP tools (Api/Audit, Api/Homeostasis).</summary>
[McpServerToolType]
public static class SystemTools
{
    /// <summary>The operation id of POST /audit/verify, its audit action.</summary>
    public const string AuditVerifyAction = "audit.verify";

    [McpServerTool(Name = "audit_verify", Title = "Verify the audit log", ReadOnly = true, Idempotent = true, OpenWorld = false,
         UseStructuredContent = true, OutputSchemaType = typeof(VerifyReport)),
     Description("Recompute the tamper-evident audit log from the stored events and check every signed checkpoint. 'ok' false " +
                 "names the first event that no longer matches. Administrators only."),
     McpAccess(Scopes.Admin, Action = AuditVerifyAction)]
    public static async Task<CallToolResult> AuditVerify(McpCall call, AuditLogs logs, AuditSigner signer, CancellationToken ct = default)
    {
        // The tree of the caller's tenant's database, as POST /audit/verify (docs/scaling.md).
        var log = logs.Of(call.Tenant);
        var r = await log.VerifyAsync(log.Origin, signer.PublicKey, null, ct);
        return McpJson.Result(r, r.Ok
            ? $"Audit log verified: {r.VerifiedEvents} events, tree size {r.TreeSize}, {r.Checkpoints} checkpoints."
            : $"Audit log does NOT verify: first mismatch at sequence {r.FirstMismatch}: {r.Problem}");
    }

    [McpServerTool(Name = "homeostasis_status", Title = "System health", ReadOnly = true, Idempotent = true, OpenWorld = false,
         UseStructuredContent = true, OutputSchemaType = typeof(HomeostasisReport)),
     Description("The system's vitals against their setpoints (stable, degraded or correcting) and its recent self-corrections."),
     McpAccess(Scopes.HomeostasisRead)]
    public static async Task<CallToolResult> Homeostasis(
        McpCall call, IDocumentStore store, HomeostasisSettings settings, CancellationToken ct = default)
    {
        var r = await ReadHomeostasis.Get(store, settings, call.Tenant, call.HasScope(Scopes.Admin), ct);
        var deviating = r.Vitals.Where(v => v.State == "deviating").Select(v => v.Name).Distinct().ToList();
        return McpJson.Result(r, $"System {r.State}" + (deviating.Count == 0 ? "." : $"; deviating: {string.Join(", ", deviating)}."));
    }
}

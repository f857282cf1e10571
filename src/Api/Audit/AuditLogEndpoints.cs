using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Audit.Log;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.AuditLog;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace Aetherra.Api.Audit;

/// <summary>
/// The Merkle log over HTTP. The tree is global (every tenant's events), and what a tenant's key may see of it
/// is hashes and sizes only: checkpoints, the public key and consistency proofs say nothing about any event,
/// and an inclusion proof is given only for the caller's own tenant's events (another tenant's sequence is
/// 404, as if it did not exist). With tenants over several databases each database has its own tree and origin
/// (AuditLogs; docs/scaling.md): a caller sees the tree of its tenant's database.
/// </summary>
public static class AuditLogEndpoints
{
    [WolverineGet("/audit/checkpoint", OperationId = "audit.checkpoint"), Authorize(Policy = Scopes.AuditRead)]
    public static async Task<IResult> Checkpoint(HttpContext http, AuditLogs logs, CheckpointPublisher publisher, CancellationToken ct) =>
        await publisher.PublishAsync(logs.Of(http.User.Tenant()), force: false, ct) is { } checkpoint
            ? Results.Text(checkpoint.Note, "text/plain; charset=utf-8")
            : throw new NotFound("a checkpoint (the audit log has no events yet)");

    [WolverineGet("/audit/public-key", OperationId = "audit.public-key"), Authorize(Policy = Scopes.AuditRead)]
    public static object PublicKey(HttpContext http, AuditLogs logs, AuditSigner signer)
    {
        var origin = logs.Of(http.User.Tenant()).Origin;
        return new { origin, publicKey = Convert.ToBase64String(signer.PublicKey), keyId = Convert.ToHexStringLower(CheckpointNote.KeyId(origin, signer.PublicKey)) };
    }

    [WolverineGet("/audit/proof/inclusion", OperationId = "audit.proof.inclusion"), Authorize(Policy = Scopes.AuditRead)]
    public static async Task<IResult> Inclusion(
        long? sequence, long? treeSize, HttpContext http, AuditLogs logs, CheckpointPublisher publisher, CancellationToken ct)
    {
        var database = logs.Of(http.User.Tenant());
        var log = database.Store;
        var errors = new Dictionary<string, string[]>();
        if (sequence is not > 0) errors["sequence"] = ["'sequence' must be a global sequence (1 or more)."];
        if (treeSize is <= 0) errors["treeSize"] = ["'treeSize' must be 1 or more."];
        if (errors.Count > 0) return RequestValidation.Invalid(http, errors);

        var size = treeSize ?? (await publisher.PublishAsync(database, force: false, ct))?.TreeSize ?? 0;
        if (await log.InclusionAsync(sequence!.Value, http.User.Tenant(), size, ct) is not { } found)
            throw new NotFound($"event {sequence} in the audit log at tree size {size}");
        return Results.Ok(new { sequence, leafIndex = found.LeafIndex, treeSize = size, leafHash = Convert.ToBase64String(found.LeafHash), hashes = found.Proof.Select(Convert.ToBase64String) });
    }

    [WolverineGet("/audit/proof/consistency", OperationId = "audit.proof.consistency"), Authorize(Policy = Scopes.AuditRead)]
    public static async Task<IResult> Consistency(
        long? from, long? to, HttpContext http, AuditLogs logs, CheckpointPublisher publisher, CancellationToken ct)
    {
        var database = logs.Of(http.User.Tenant());
        var log = database.Store;
        var errors = new Dictionary<string, string[]>();
        if (from is not > 0) errors["from"] = ["'from' must be a tree size (1 or more)."];
        if (to is not null && to < from) errors["to"] = ["'to' must be at least 'from'."];
        if (errors.Count > 0) return RequestValidation.Invalid(http, errors);

        var size = to ?? (await publisher.PublishAsync(database, force: false, ct))?.TreeSize ?? 0;
        var (current, _) = await log.TipAsync(ct);
        if (size < from || size > current) throw new NotFound($"an audit log of tree size {size}");
        var proof = await log.ConsistencyProofAsync(from!.Value, size, ct);
        return Results.Ok(new { from, to = size, hashes = proof.Select(Convert.ToBase64String) });
    }

    /// <summary>Verifies the tree of the caller's tenant's database (every database: the `audit verify` command).</summary>
    [WolverinePost("/audit/verify", OperationId = "audit.verify"), Authorize(Policy = Scopes.Admin)]
    public static Task<VerifyReport> Verify(HttpContext http, AuditLogs logs, AuditSigner signer, CancellationToken ct)
    {
        var log = logs.Of(http.User.Tenant());
        return log.VerifyAsync(log.Origin, signer.PublicKey, null, ct);
    }
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aetherra.Application.Common;
using Aetherra.Application.Plugins;
using Aetherra.Domain.Changes;
using Aetherra.Domain.Decisions;
using Aetherra.Domain.Plugins;
using Aetherra.Infrastructure.AuditLog;
using Aetherra.Infrastructure.Json;
using Marten;

namespace Aetherra.Application.Changes;

/// <summary>Ship a change; <c>decisionId</c> names its code-change decision (else the latest one whose subject is the change).</summary>
public sealed record ShipChange(Guid? DecisionId);

public sealed record ShipChangeResult(Guid Id, string Status, JsonElement Manifest, string Signature, long Sequence);

public static class ShipChangeHandler
{
    /// <summary>
    /// Checks every gate (ChangeRules.MissingGates: each required stage passed and signed by a key still trusted, an
    /// approved code-change decision about this change), then writes the ship manifest, signs its canonical JSON with
    /// the installation's audit key and appends it. A missing gate is 422 naming each one; nothing is appended.
    /// </summary>
    public static async Task<ShipChangeResult> Handle(Guid id, ShipChange body, CommandContext command, IDocumentStore store, AuditSigner signer,
        TimeProvider clock, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var stream = await session.Events.FetchForWriting<Change>(id, ct);
        var change = stream.Aggregate ?? throw new NotFound("change");

        var keys = new Dictionary<string, PublisherKey>();
        foreach (var keyId in change.Stages.Select(s => s.RunnerKeyId).Distinct())
            if (await session.LoadAsync<PublisherKey>(PluginStreams.PublisherKey(command.Tenant, keyId), ct) is { Revoked: false } key)
                keys[keyId] = key;
        var decision = body.DecisionId is { } named
            ? await session.LoadAsync<Decision>(named, ct)
            : (await session.Query<Decision>()
                .Where(d => d.Category == ChangeRules.DecisionCategory && d.Subject == id.ToString())
                .OrderByDescending(d => d.Sequence).ToListAsync(ct))
            .OrderByDescending(Approved).FirstOrDefault();
        var gate = decision is null ? (DecisionGate?)null : new DecisionGate(decision.Id, decision.Category, decision.Subject, Approved(decision),
            decision.Status.ToString().ToLowerInvariant());
        var trusted = keys.Keys.ToHashSet();
        var missing = ChangeRules.MissingGates(change, trusted, gate);
        if (missing.Count > 0) throw new GatesMissing(missing);

        var now = clock.GetUtcNow();
        var manifest = Manifest(change, keys, decision!, command, signer, now);
        var canonical = CanonicalJson.CanonicalText(JsonSerializer.SerializeToElement(manifest));
        var signature = Convert.ToBase64String(signer.SignStatement(Encoding.UTF8.GetBytes(canonical)));
        stream.AppendOne(ChangeRules.Ship(change, trusted, gate, canonical, signature, now));
        try
        {
            var sequence = await session.CommitAsync(command, id.ToString(), Outcome.Done, now, ct);
            return new ShipChangeResult(id, "shipped", JsonDocument.Parse(canonical).RootElement.Clone(), signature, sequence);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw new VersionConflict(change.Version);
        }
    }

    /// <summary>Approved by the governor or a human (an outcome recorded since does not undo the approval).</summary>
    private static bool Approved(Decision d) =>
        d.Status == DecisionStatus.Approved || (d.Status == DecisionStatus.Resolved && (d.AutoApproved || d.Review?.Approved == true));

    private static JsonObject Manifest(Change change, Dictionary<string, PublisherKey> keys, Decision decision, CommandContext command,
        AuditSigner signer, DateTimeOffset now) => new()
    {
        ["type"] = ChangeSignatures.ManifestType,
        ["tenant"] = command.Tenant,
        ["changeId"] = change.Id.ToString(),
        ["title"] = change.Title,
        ["repository"] = change.Repository,
        ["baseRevision"] = change.BaseRevision,
        ["patchSha256"] = change.PatchSha256,
        ["planSha256"] = ChangeSignatures.Sha256Hex(change.Plan),
        ["agent"] = change.Agent,
        ["stages"] = new JsonArray(ChangeRules.RequiredStages.Select(name => change.Stages.Single(s => s.Stage == name)).Select(s => (JsonNode)new JsonObject
        {
            ["stage"] = s.Stage,
            ["passed"] = s.Passed,
            ["evidenceSha256"] = s.EvidenceSha256,
            ["runnerKeyId"] = s.RunnerKeyId,
            ["runnerName"] = keys[s.RunnerKeyId].Name,
            ["runnerPublicKey"] = keys[s.RunnerKeyId].PublicKey,
            ["signature"] = s.Signature,
            ["recordedAt"] = s.At.ToString("O"),
        }).ToArray()),
        ["decision"] = new JsonObject
        {
            ["id"] = decision.Id.ToString(),
            ["category"] = decision.Category,
            ["approval"] = decision.AutoApproved ? "governor" : "human",
            ["approvedBy"] = decision.AutoApproved ? "governor" : decision.Review?.By,
            ["confidence"] = decision.Confidence,
            ["threshold"] = decision.Threshold,
        },
        ["shippedAt"] = now.ToString("O"),
        ["shippedBy"] = command.Actor,
        ["signer"] = new JsonObject
        {
            ["origin"] = signer.Origin,
            ["publicKey"] = Convert.ToBase64String(signer.PublicKey),
        },
    };
}

using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Domain.Changes;
using Marten;

namespace Aetherra.Application.Changes;

public sealed record StageView(string Stage, bool Passed, string EvidenceSha256, string RunnerKeyId, string Signature, DateTimeOffset At, bool Revoked);

public sealed record ChangeView(
    Guid Id, string Title, string Repository, string BaseRevision, string Patch, string PatchSha256, string Plan, string Agent, string Status,
    IReadOnlyList<StageView> Stages, DateTimeOffset ProposedAt, Guid? DecisionId, JsonElement? Manifest, string? Signature,
    DateTimeOffset? ShippedAt, string? RollbackReason, int Version);

public static class ReadChange
{
    public static async Task<ChangeView> Get(Guid id, IQuerySession session, CancellationToken ct)
    {
        var c = await session.LoadAsync<Change>(id, ct) ?? throw new NotFound("change");
        return new ChangeView(c.Id, c.Title, c.Repository, c.BaseRevision, c.Patch, c.PatchSha256, c.Plan, c.Agent, ChangeRules.Lower(c.Status),
            c.Stages.OrderBy(s => ChangeRules.RequiredStages.ToList().IndexOf(s.Stage))
                .Select(s => new StageView(s.Stage, s.Passed, s.EvidenceSha256, s.RunnerKeyId, s.Signature, s.At, s.Revoked)).ToList(),
            c.ProposedAt, c.DecisionId, c.Manifest is null ? null : JsonDocument.Parse(c.Manifest).RootElement.Clone(), c.ManifestSignature,
            c.ShippedAt, c.RollbackReason, c.Version);
    }

    /// <summary>An agent's changes by status (for its profile).</summary>
    public static async Task<IReadOnlyDictionary<string, int>> CountsFor(string agent, IQuerySession session, CancellationToken ct)
    {
        var statuses = await session.Query<Change>().Where(c => c.Agent == agent).Select(c => c.Status).ToListAsync(ct);
        return Enum.GetValues<ChangeStatus>().ToDictionary(ChangeRules.Lower, s => statuses.Count(x => x == s));
    }
}

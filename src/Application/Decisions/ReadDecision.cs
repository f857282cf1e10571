using Aetherra.Application.Common;
using Aetherra.Application.Memory;
using Aetherra.Domain.Decisions;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Npgsql;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Application.Decisions;

/// <summary>
/// A cited memory as the agent saw it. Content is null when the memory was forgotten since (or its subject's key
/// destroyed: forgotten is then true), or when it is confidential and the caller may not read memories (withheld).
/// </summary>
public sealed record EvidenceView(Guid MemoryId, int Version, string? Content, bool Forgotten, bool Withheld);

public sealed record OutcomeView(bool Success, double? Score, string? Note, DateTimeOffset At);

public sealed record ReviewView(string Decision, string? Note, DateTimeOffset At, string? By);

public sealed record DecisionView(
    Guid Id, string Agent, string Category, string Action, double Confidence, string Rationale, string Risk,
    string? Subject, string Status, double? Threshold, bool AutoApproved, string? EscalationReason, DateTimeOffset ProposedAt,
    ReviewView? Review, OutcomeView? Outcome, IReadOnlyList<EvidenceView> Evidence, int Version, long Sequence);

public static class ReadDecision
{
    public static async Task<DecisionView> Get(
        Guid id, string tenant, bool canReadMemories, IDocumentStore store, NpgsqlDataSource dataSource, SubjectKeyStore keys,
        CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var decision = await session.LoadAsync<Decision>(id, ct) ?? throw new NotFound("decision");
        var evidence = new List<EvidenceView>();
        foreach (var cited in decision.Evidence)
            evidence.Add(await EvidenceAsync(session, tenant, cited, canReadMemories, dataSource, keys, ct));
        return View(decision, evidence);
    }

    /// <summary>The memory's content at the cited version, rebuilt from its events and opened with its subject's key.</summary>
    private static async Task<EvidenceView> EvidenceAsync(
        IQuerySession session, string tenant, EvidenceRef cited, bool canReadMemories, NpgsqlDataSource dataSource,
        SubjectKeyStore keys, CancellationToken ct)
    {
        var now = await session.LoadAsync<MemoryState>(cited.MemoryId, ct);
        if (now is null || now.Status == MemoryStatus.Forgotten)
            return new EvidenceView(cited.MemoryId, cited.Version, null, true, false);
        if (now.Classification == Classification.Confidential && !canReadMemories)
            return new EvidenceView(cited.MemoryId, cited.Version, null, false, true);

        var events = await session.Events.FetchStreamAsync(cited.MemoryId, cited.Version, token: ct);
        var sealedText = events.Select(e => e.Data switch
        {
            MemoryRecorded r => r.Content,
            MemoryRevised r => r.Content,
            _ => null
        }).LastOrDefault(c => c is not null);
        var found = sealedText is null
            ? new Dictionary<Guid, Infrastructure.Crypto.DataKey>()
            : await keys.FindAsync(tenant, [sealedText.KeyId], ct);
        var content = MemoryContent.Open(found, tenant, cited.MemoryId, sealedText);
        foreach (var key in found.Values) key.Dispose();
        return new EvidenceView(cited.MemoryId, cited.Version, content, content is null, false);
    }

    public static DecisionView View(Decision d, IReadOnlyList<EvidenceView> evidence) => new(
        d.Id, d.Agent, d.Category, d.Action, d.Confidence, d.Rationale, Lower(d.Risk), d.Subject, Lower(d.Status), d.Threshold,
        d.AutoApproved, d.EscalationReason, d.ProposedAt,
        d.Review is { } r ? new ReviewView(r.Approved ? "approved" : "rejected", r.Note, r.At, r.By) : null,
        d.Outcome is { } o ? new OutcomeView(o.Success, o.Score, o.Note, o.At) : null,
        evidence, d.Version, d.Sequence);

    internal static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}

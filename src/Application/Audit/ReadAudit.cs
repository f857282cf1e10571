using Aetherra.Domain.Audit;
using FluentValidation;
using System.Runtime.CompilerServices;
using Marten;

namespace Aetherra.Application.Audit;

public sealed record AuditQuery(
    string? Actor, string? Action, string? Stream, DateTimeOffset? From, DateTimeOffset? To, long? After, int? Limit);

public sealed record AuditRecordView(
    long Sequence, DateTimeOffset At, string Actor, string Tenant, string Action, string? Target,
    string Outcome, int Status, string? Reason, Guid RequestId, string Channel);

public sealed record AuditPage(IReadOnlyList<AuditRecordView> Records, long? Next);

public sealed class AuditQueryValidator : AbstractValidator<AuditQuery>
{
    public AuditQueryValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, 1000);
        RuleFor(x => x.After).GreaterThanOrEqualTo(0);
        RuleFor(x => x.To).GreaterThanOrEqualTo(x => x.From).When(x => x.From is not null && x.To is not null);
    }
}

public static class ReadAudit
{
    public const int DefaultLimit = 100;

    /// <summary>Pages in global sequence order; <c>next</c> is the cursor to pass as <c>after</c>.</summary>
    public static async Task<AuditPage> Handle(IQuerySession session, AuditQuery q, CancellationToken ct)
    {
        var limit = q.Limit ?? DefaultLimit;
        var rows = await Filter(session.Query<AuditEntry>(), q).OrderBy(x => x.Sequence).Take(limit).ToListAsync(ct);
        var records = rows.Select(View).ToList();
        return new AuditPage(records, records.Count == limit ? records[^1].Sequence : null);
    }

    /// <summary>
    /// Every matching record in sequence order, of one tenant or (null: the operator's command line) all of
    /// them, streamed row by row: constant memory on any log.
    /// </summary>
    public static async IAsyncEnumerable<AuditRecordView> Replay(
        IQuerySession session, AuditQuery q, bool allTenants, [EnumeratorCancellation] CancellationToken ct)
    {
        var query = allTenants ? session.Query<AuditEntry>().Where(x => x.AnyTenant()) : session.Query<AuditEntry>();
        await foreach (var row in Filter(query, q).OrderBy(x => x.Sequence).ToAsyncEnumerable(ct)) yield return View(row);
    }

    private static IQueryable<AuditEntry> Filter(IQueryable<AuditEntry> query, AuditQuery q)
    {
        var after = q.After ?? 0;
        query = query.Where(x => x.Sequence > after);
        if (!string.IsNullOrEmpty(q.Actor)) query = query.Where(x => x.Actor == q.Actor);
        if (!string.IsNullOrEmpty(q.Action)) query = query.Where(x => x.Action == q.Action);
        if (!string.IsNullOrEmpty(q.Stream)) query = query.Where(x => x.Target == q.Stream);
        if (q.From is { } from) query = query.Where(x => x.At >= from);
        if (q.To is { } to) query = query.Where(x => x.At <= to);
        return query;
    }

    private static AuditRecordView View(AuditEntry r) => new(r.Sequence, r.At, r.Actor, r.Tenant, r.Action, r.Target,
        r.Outcome == AuditOutcome.Accepted ? "accepted" : "rejected", r.Status, r.Reason, r.RequestId, r.Channel);
}

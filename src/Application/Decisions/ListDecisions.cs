using Aetherra.Domain.Decisions;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Decisions;

public sealed record DecisionQuery(string? Status, string? Agent, string? Category, long? After, int? Limit);

public sealed record DecisionSummary(
    Guid Id, string Agent, string Category, string Action, double Confidence, string Risk, string Status, double? Threshold,
    bool AutoApproved, string? EscalationReason, DateTimeOffset ProposedAt, long Sequence);

public sealed record DecisionPage(IReadOnlyList<DecisionSummary> Items, long? Next);

public sealed class DecisionQueryValidator : AbstractValidator<DecisionQuery>
{
    public DecisionQueryValidator()
    {
        RuleFor(x => x.Status).Must(s => s is null || Enum.TryParse<DecisionStatus>(s, ignoreCase: true, out _) && !int.TryParse(s, out _))
            .WithMessage("'Status' must be one of proposed, approved, escalated, rejected, resolved.");
        RuleFor(x => x.Agent).MaximumLength(DecisionLimits.MaxNameLength);
        RuleFor(x => x.Category).MaximumLength(DecisionLimits.MaxNameLength);
        RuleFor(x => x.After).GreaterThanOrEqualTo(0);
        RuleFor(x => x.Limit).InclusiveBetween(1, DecisionLimits.MaxPage);
    }
}

public static class ListDecisions
{
    /// <summary>
    /// Oldest first, in the order they were proposed (a queue is worked from its head); <c>next</c> is the cursor to
    /// pass as <c>after</c>. <c>status=escalated</c> is the approval queue.
    /// </summary>
    public static async Task<DecisionPage> Handle(IQuerySession session, DecisionQuery q, CancellationToken ct)
    {
        var limit = q.Limit ?? DecisionLimits.DefaultPage;
        var after = q.After ?? 0;
        var query = session.Query<Decision>().Where(d => d.Sequence > after);
        if (q.Status is { } s)
        {
            var status = Enum.Parse<DecisionStatus>(s, ignoreCase: true);
            query = query.Where(d => d.Status == status);
        }
        if (!string.IsNullOrEmpty(q.Agent)) query = query.Where(d => d.Agent == q.Agent);
        if (!string.IsNullOrEmpty(q.Category)) query = query.Where(d => d.Category == q.Category);
        var rows = await query.OrderBy(d => d.Sequence).Take(limit).ToListAsync(ct);
        var items = rows.Select(d => new DecisionSummary(d.Id, d.Agent, d.Category, d.Action, d.Confidence, ReadDecision.Lower(d.Risk),
            ReadDecision.Lower(d.Status), d.Threshold, d.AutoApproved, d.EscalationReason, d.ProposedAt, d.Sequence)).ToList();
        return new DecisionPage(items, items.Count == limit ? items[^1].Sequence : null);
    }
}

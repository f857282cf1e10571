using Aetherra.Domain.Changes;
using FluentValidation;
using Marten;

namespace Aetherra.Application.Changes;

/// <summary>GET /changes filters: status, proposing agent, and a page (<c>after</c> is the previous page's <c>next</c>).</summary>
public sealed record ChangeQuery(string? Status, string? Agent, long? After, int? Limit);

public sealed record StageSummary(string Stage, bool Passed, bool Revoked);

public sealed record ChangeSummary(
    Guid Id, string Title, string Repository, string BaseRevision, string Agent, string Status, string PatchSha256,
    IReadOnlyList<StageSummary> Stages, DateTimeOffset ProposedAt, DateTimeOffset? ShippedAt, int Version, long Sequence);

public sealed record ChangePage(IReadOnlyList<ChangeSummary> Items, long? Next);

public sealed class ChangeQueryValidator : AbstractValidator<ChangeQuery>
{
    private static readonly string[] Statuses = Enum.GetValues<ChangeStatus>().Select(ChangeRules.Lower).ToArray();

    public ChangeQueryValidator()
    {
        RuleFor(x => x.Status).Must(s => s is null || Statuses.Contains(s))
            .WithMessage($"'Status' must be one of {string.Join(", ", Statuses)}.");
        RuleFor(x => x.Agent).MaximumLength(Agents.AgentActions.MaxNameLength);
        RuleFor(x => x.After).GreaterThanOrEqualTo(0);
        RuleFor(x => x.Limit).InclusiveBetween(1, ChangeLimits.MaxPage);
    }
}

public static class ListChanges
{
    /// <summary>The tenant's changes in the order they were proposed, oldest first; patches and evidence stay on GET /changes/{id}.</summary>
    public static async Task<ChangePage> Handle(IQuerySession session, ChangeQuery q, CancellationToken ct)
    {
        var limit = q.Limit ?? ChangeLimits.DefaultPage;
        var after = q.After ?? 0;
        var query = session.Query<Change>().Where(c => c.Sequence > after);
        if (q.Status is { } s)
        {
            var status = Enum.GetValues<ChangeStatus>().Single(x => ChangeRules.Lower(x) == s);
            query = query.Where(c => c.Status == status);
        }
        if (!string.IsNullOrEmpty(q.Agent)) query = query.Where(c => c.Agent == q.Agent);
        var rows = await query.OrderBy(c => c.Sequence).Take(limit).ToListAsync(ct);
        var items = rows.Select(c => new ChangeSummary(c.Id, c.Title, c.Repository, c.BaseRevision, c.Agent, ChangeRules.Lower(c.Status),
            c.PatchSha256, c.Stages.OrderBy(x => ChangeRules.RequiredStages.ToList().IndexOf(x.Stage))
                .Select(x => new StageSummary(x.Stage, x.Passed, x.Revoked)).ToList(),
            c.ProposedAt, c.ShippedAt, c.Version, c.Sequence)).ToList();
        return new ChangePage(items, items.Count == limit ? items[^1].Sequence : null);
    }
}

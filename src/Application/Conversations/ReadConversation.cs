using Aetherra.Application.Common;
using Aetherra.Domain.Conversations;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;
using Npgsql;

namespace Aetherra.Application.Conversations;

public sealed record CitationView(Guid MemoryId, int Version);

/// <summary>A turn as read; content is null once the subject's key is destroyed (the subject was forgotten).</summary>
public sealed record TurnView(
    int Turn, string Role, string? Content, DateTimeOffset At, IReadOnlyList<CitationView>? Citations, string? Provider,
    string? Model, bool? Generated, int? ReplyTo);

public sealed record ConversationView(
    Guid Id, string Subject, string Agent, string? Title, string Status, bool Extraction, DateTimeOffset StartedAt,
    int Version, IReadOnlyList<TurnView> Turns);

public sealed record ConversationSummary(
    Guid Id, string Subject, string Agent, string? Title, string Status, int Turns, DateTimeOffset StartedAt, DateTimeOffset LastTurnAt);

public sealed record ConversationPage(IReadOnlyList<ConversationSummary> Items);

public sealed record ConversationQuery(string? Subject, string? Agent, int? Limit);

public sealed class ConversationQueryValidator : AbstractValidator<ConversationQuery>
{
    public ConversationQueryValidator()
    {
        RuleFor(x => x.Subject).MaximumLength(ConversationLimits.MaxNameLength);
        RuleFor(x => x.Agent).MaximumLength(ConversationLimits.MaxNameLength);
        RuleFor(x => x.Limit).InclusiveBetween(1, ConversationLimits.MaxPage);
    }
}

public static class ReadConversation
{
    public static async Task<ConversationView> Get(
        Guid id, string tenant, IDocumentStore store, NpgsqlDataSource dataSource, SubjectKeyStore keys, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var c = await session.LoadAsync<Conversation>(id, ct) ?? throw new NotFound("conversation");
        var found = c.Turns.Count == 0
            ? new Dictionary<Guid, DataKey>()
            : await keys.FindAsync(tenant, c.Turns.Select(t => t.Content.KeyId).Distinct().ToList(), ct);
        try
        {
            return new ConversationView(c.Id, c.Subject, c.Agent, c.Title, Lower(c.Status), c.Extraction, c.StartedAt, c.Version,
                c.Turns.Select(t => View(t, ConversationContent.Open(found, tenant, id, t.Number, t.Content))).ToList());
        }
        finally
        {
            foreach (var key in found.Values) key.Dispose();
        }
    }

    public static TurnView View(Turn t, string? content) => new(
        t.Number, Lower(t.Role), content, t.At,
        t.Role == TurnRole.Assistant && t.Reply is not null ? t.Citations.Select(c => new CitationView(c.MemoryId, c.Version)).ToList() : null,
        t.Reply?.Provider, t.Reply?.Model, t.Reply?.Generated, t.Reply?.ReplyTo);

    /// <summary>Newest first (the conversation with the latest turn leads).</summary>
    public static async Task<ConversationPage> List(IQuerySession session, ConversationQuery q, CancellationToken ct)
    {
        var query = session.Query<Conversation>().AsQueryable();
        if (!string.IsNullOrEmpty(q.Subject)) query = query.Where(c => c.Subject == q.Subject);
        if (!string.IsNullOrEmpty(q.Agent)) query = query.Where(c => c.Agent == q.Agent);
        var rows = await query.OrderByDescending(c => c.StartedAt).ThenByDescending(c => c.Id).Take(q.Limit ?? ConversationLimits.DefaultPage).ToListAsync(ct);
        return new ConversationPage(rows.Select(c => new ConversationSummary(
            c.Id, c.Subject, c.Agent, c.Title, Lower(c.Status), c.Turns.Count, c.StartedAt, c.LastTurnAt)).ToList());
    }

    internal static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}

using System.Text.Json;
using Aetherra.Application.Audit;
using Aetherra.Application.Common;
using Aetherra.Application.Memory;
using Aetherra.Application.Recall;
using Aetherra.Domain;
using Aetherra.Domain.Conversations;
using Aetherra.Domain.Memory;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Attributes;
using Wolverine.Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Aetherra.Application.Conversations;

/// <summary>Extract memories from a user turn (a message on the durable local queue <see cref="MemoryExtraction.Queue"/>).</summary>
[MessageIdentity("conversation.extract-memories.v1")]
public sealed record ExtractMemories(string Tenant, Guid ConversationId, int Turn, string Actor, string Channel);

/// <summary>
/// After a user turn, off the reply's path: the provider chain extracts candidate memories as structured JSON, each
/// recorded through the memory use case with its source (deduplicated by content hash as any memory is); a candidate
/// that contradicts a known memory of the subject revises it instead. With no provider, or when none answers
/// usefully, the turn itself is kept as an episode, so recall still finds it.
/// </summary>
public static class MemoryExtraction
{
    public const string Queue = "extraction";
    public const string Action = "conversation.extract";
    public const int KnownMemories = 10;
    private static readonly JsonElement Schema = JsonDocument.Parse(Extraction.AnswerSchema).RootElement.Clone();
    private static readonly RecordMemoryValidator RecordValidator = new();
    private static readonly ReviseMemoryValidator ReviseValidator = new();

    /// <summary>
    /// Enlists the message in the session's transaction (Wolverine's outbox on Marten): it is queued if and only if
    /// the turn commits.
    /// </summary>
    public static async Task EnqueueAsync(IDocumentSession session, IServiceScopeFactory scopes, ExtractMemories message)
    {
        // The outbox outlives this scope: the session's commit listener holds it and flushes it after the commit.
        using var scope = scopes.CreateScope();
        var outbox = scope.ServiceProvider.GetRequiredService<IMartenOutbox>();
        outbox.Enroll(session);
        await outbox.PublishAsync(message);
    }

    public static async Task RunAsync(ExtractMemories message, ConversationEngine engine, CancellationToken ct)
    {
        Conversation? c;
        await using (var query = engine.Store.QuerySession(message.Tenant))
            c = await query.LoadAsync<Conversation>(message.ConversationId, ct);
        if (c is null || !c.Extraction || message.Turn < 1 || message.Turn > c.Turns.Count) return;
        var turn = c.Turns[message.Turn - 1];
        if (turn.Role != TurnRole.User) return;
        var found = await engine.Keys.FindAsync(message.Tenant, [turn.Content.KeyId], ct);
        var text = ConversationContent.Open(found, message.Tenant, c.Id, turn.Number, turn.Content);
        foreach (var key in found.Values) key.Dispose();
        // The subject was forgotten since: there is nothing left to extract from.
        if (text is null) return;

        var source = Extraction.Source(c.Id, turn.Number);
        var recalled = await engine.Recall.RunAsync(message.Tenant,
            new RecallRequest(text.Length > RecallRequestValidator.MaxQueryLength ? text[..RecallRequestValidator.MaxQueryLength] : text,
                c.Subject, null, null, null, null, KnownMemories, null, null, null), ct);
        var known = recalled.Results.Select(r => new RecalledMemory(r.Id, r.Version, r.Content, r.OccurredAt)).ToList();

        var (answer, calls) = await engine.Models.AskJsonAsync(Extraction.Instructions(c.Subject, known), text, Schema, "memories", ct);
        if (calls.Count > 0)
        {
            await using var session = engine.Store.OpenFor(Command(message));
            ReplyToConversation.RecordCalls(session, c.Id, turn.Number, calls, engine.Clock.GetUtcNow());
            await session.SaveChangesAsync(ct);
        }
        var candidates = answer is null ? null : Extraction.Parse(answer, known.Count);
        if (candidates is null)
        {
            if (calls.Count > 0)
                engine.Log.LogWarning("No provider extracted memories from turn {Turn} of conversation {Conversation}; the turn is kept as an episode",
                    turn.Number, c.Id);
            await RecordAsync(message, engine, turn, new RecordMemory(text, c.Subject, c.Agent, null, nameof(MemoryKind.Episode), null, null,
                null, turn.At, null, source), ct);
            return;
        }

        foreach (var candidate in candidates)
        {
            // A revision is refused by the memory's own stream once the subject is forgotten (the forget appends to it).
            if (candidate.Replaces is { } n && await SupersedeAsync(message, engine, known[n - 1], candidate.Content, c.Id, turn.Number, ct))
                continue;
            if (!await RecordAsync(message, engine, turn, new RecordMemory(candidate.Content, c.Subject, c.Agent, null, candidate.Kind.ToString(),
                    null, candidate.Importance, null, turn.At, null, source), ct))
                return;
        }
    }

    /// <summary>
    /// Records one memory derived from the turn; false when the subject was forgotten after the turn (nothing more
    /// may be written from it). The write holds the turn's key in its own transaction (<see cref="MemoryWriter"/>):
    /// a forget that destroyed the key first refuses it, one that comes later waits for it and forgets what it
    /// wrote, so no new key is ever minted for what a forgotten subject said.
    /// </summary>
    private static async Task<bool> RecordAsync(ExtractMemories message, ConversationEngine engine, Turn turn, RecordMemory memory,
        CancellationToken ct)
    {
        // The model's text did not pass the HTTP edge's input guard: the same storability check, then the route's validator.
        if (!StorableText.IsStorable(memory.Content) || !RecordValidator.Validate(memory).IsValid)
        {
            engine.Log.LogWarning("An extracted memory of conversation {Conversation} was not a valid memory; skipped", message.ConversationId);
            return true;
        }
        var command = Command(message);
        try
        {
            await MemoryWriter.RecordAsync([memory.ToRecord()], command, engine.Store, engine.Keys, engine.Clock,
                r => r[0].Deduplicated ? Outcome.Done : Outcome.Created, ct, derivedFromKey: turn.Content.KeyId);
            return true;
        }
        catch (SourceForgotten e)
        {
            await AuditTrail.RecordEndingAsync(engine.Store, command, Extraction.Source(message.ConversationId, turn.Number), Outcomes.StatusOf(Outcome.Gone), e.Message,
                engine.Clock.GetUtcNow(), ct);
            engine.Log.LogInformation("The subject of conversation {Conversation} was forgotten while turn {Turn} was extracted; nothing written",
                message.ConversationId, turn.Number);
            return false;
        }
    }

    /// <summary>Revises the contradicted memory; false when it cannot be (forgotten meanwhile, or the content is already held).</summary>
    private static async Task<bool> SupersedeAsync(
        ExtractMemories message, ConversationEngine engine, RecalledMemory old, string content, Guid conversationId, int turn, CancellationToken ct)
    {
        var revision = new ReviseMemory(content, Extraction.SupersededBy(conversationId, turn), null);
        if (!StorableText.IsStorable(content) || !ReviseValidator.Validate(revision).IsValid) return true;
        try
        {
            await ReviseMemoryHandler.Handle(old.MemoryId, revision, Command(message), engine.Store, engine.Keys, engine.Clock, ct);
            return true;
        }
        catch (Exception e) when (e is NotFound or VersionConflict or DomainRuleViolated)
        {
            engine.Log.LogInformation("Memory {Memory} could not be superseded ({Reason}); the extracted memory is recorded beside it",
                old.MemoryId, e.Message);
            return false;
        }
    }

    /// <summary>Each write a command of its own (its own audit record), on behalf of the turn's author.</summary>
    private static CommandContext Command(ExtractMemories m) => new(m.Actor, m.Tenant, Guid.CreateVersion7(), Action, m.Channel);
}

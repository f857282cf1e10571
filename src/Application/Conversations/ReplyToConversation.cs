using System.Text;
using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Application.Decisions;
using Aetherra.Application.Recall;
using Aetherra.Domain.Conversations;
using Aetherra.Infrastructure.Crypto;
using FluentValidation;
using Marten;
using Microsoft.Extensions.Logging;

namespace Aetherra.Application.Conversations;

public sealed record ReplyRequest(string? Message, int? Limit, long? MinSequence);

public sealed record ReplyResult(
    int Turn, string Content, IReadOnlyList<CitationView> Citations, string Provider, string? Model, bool Generated,
    int? TokensIn, int? TokensOut, int ReplyTo, long Sequence);

public sealed class ReplyRequestValidator : AbstractValidator<ReplyRequest>
{
    public ReplyRequestValidator()
    {
        RuleFor(x => x.Message).TurnContent();
        RuleFor(x => x.Limit).InclusiveBetween(1, ConversationLimits.MaxRecall);
        RuleFor(x => x.MinSequence).GreaterThanOrEqualTo(0);
    }
}

/// <summary>
/// A grounded reply: the user turn is recorded, and while its write commits the subject's memories are recalled, the
/// prompt built and the model chain called; the first token is held until the turn has committed, so nothing the
/// client sees belongs to a turn that could still be lost, and a write that fails fails the reply (generation is
/// cancelled, nothing of it is recorded). Then the assistant turn is recorded with its citations. Generation runs
/// on its own (<see cref="ReplyStream"/>); callers read its frames.
/// </summary>
public static class ReplyToConversation
{
    public static async Task<ReplyStream> StartAsync(
        Guid id, ReplyRequest body, CommandContext command, ConversationEngine engine, CancellationToken ct)
    {
        var steps = new ReplySteps(System.Diagnostics.Stopwatch.GetTimestamp());
        // A conversation this process has replied to before: its subject is known, so recall starts now, beside the
        // stream's lock and the rest of the write, instead of after the lock (AETHERRA_REPLY_RECALL=after-lock: after).
        // It runs on the host's lifetime like the generation; nothing of it is seen unless the locked conversation has
        // that subject.
        var known = Infrastructure.MeasurementSwitches.ReplyRecallAfterLock ? null : engine.SubjectOf(command.Tenant, id);
        // On the pool: a recall embeds its query on the calling thread, which must go on to the write at once.
        var early = known is null
            ? null
            : new EarlyRecall(known, Task.Run(() => RecallAsync(engine, command.Tenant, known, body, engine.Stopping), CancellationToken.None));
        return await ConflictPolicy.RetryAsync(async () =>
        {
            // One generation per attempt of the write: an attempt that fails takes its generation with it.
            var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // Owned by the generation, which disposes it when it ends.
            var abandon = CancellationTokenSource.CreateLinkedTokenSource(engine.Stopping);
            ReplyStream? stream = null;
            Task? generation = null;
            try
            {
                await using var session = engine.Store.OpenFor(command);
                await TurnWriter.AppendAsync(session, command, engine, id, TurnRole.User, body.Message!, [], null,
                    engine.Clock.GetUtcNow(), ct, locked: before =>
                    {
                        steps.Locked = System.Diagnostics.Stopwatch.GetTimestamp();
                        engine.RememberSubject(command.Tenant, id, before.Subject);
                        stream = engine.Streams.Open(command.Tenant, id, before.NextTurn);
                        var s = stream;
                        var recall = early is not null && early.Subject == before.Subject ? early.Recalled : null;
                        generation = Task.Run(() => GenerateAsync(s, before, body, command, engine, committed.Task, abandon, steps, recall),
                            CancellationToken.None);
                    });
                // Not the command's audit yet: that commits with the assistant turn, or records the failure.
                await session.SaveChangesAsync(ct);
                steps.Committed = System.Diagnostics.Stopwatch.GetTimestamp();
                committed.SetResult();
                return stream!;
            }
            catch (Exception e)
            {
                // Failed first, then cancelled: the generation sees why it stops.
                committed.TrySetException(e);
                try
                {
                    await abandon.CancelAsync();
                }
                catch (ObjectDisposedException)
                {
                    // The generation had ended already (it failed on its own).
                }
                if (stream is not null) engine.Streams.Drop(command.Tenant, id, stream.Turn);
                if (generation is not null) await generation;
                else abandon.Dispose();
                throw;
            }
        });
    }

    private static async Task GenerateAsync(
        ReplyStream stream, Conversation conversation, ReplyRequest body, CommandContext command, ConversationEngine engine,
        Task committed, CancellationTokenSource abandon, ReplySteps steps, Task<RecallResponse>? early)
    {
        var ct = abandon.Token;
        var began = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var history = OpenTurnsAsync(conversation, command.Tenant, engine, ct);
            var recalled = early is not null
                ? await early.WaitAsync(ct)
                : await RecallAsync(engine, command.Tenant, conversation.Subject, body, ct);
            var memories = recalled.Results.Select(r => new RecalledMemory(r.Id, r.Version, r.Content, r.OccurredAt)).ToList();
            var turns = await history;
            turns.Add(new PromptMessage(TurnRole.User, body.Message!));
            var prompt = Grounding.Build(memories, turns);
            var prompted = System.Diagnostics.Stopwatch.GetTimestamp();

            var text = new StringBuilder();
            var frames = new List<int>();
            var (generation, calls) = await engine.Models.GenerateAsync(prompt, async chunk =>
            {
                // The first token waits for the user turn's commit (a no-op after it).
                if (frames.Count == 0 && engine.Log.IsEnabled(LogLevel.Debug))
                {
                    var chunked = System.Diagnostics.Stopwatch.GetTimestamp();
                    var wasCommitted = committed.IsCompleted;
                    await committed.WaitAsync(ct);
                    var ms = (long at) => System.Diagnostics.Stopwatch.GetElapsedTime(steps.Started, at).TotalMilliseconds;
                    engine.Log.LogDebug(
                        "Reply to turn {Turn}: stream locked at {Locked:0.00} ms, generation began {Began:0.00}, recall and prompt done {Prompted:0.00} (recall tookMs {Recall:0.00}), provider's first chunk {Chunk:0.00}, user turn committed {Committed:0.00}, first token {Token:0.00} ({Already})",
                        stream.Turn, ms(steps.Locked), ms(began), ms(prompted), recalled.TookMs, ms(chunked),
                        steps.Committed == 0 ? -1 : ms(steps.Committed), ms(System.Diagnostics.Stopwatch.GetTimestamp()),
                        wasCommitted ? "committed already" : "waited");
                }
                await committed.WaitAsync(ct);
                text.Append(chunk);
                frames.Add(chunk.Length);
                stream.Token(chunk);
            }, ct);
            // An empty reply sent no token: nothing is recorded for a turn that did not commit.
            await committed.WaitAsync(ct);

            var content = text.ToString();
            var citations = Grounding.Citations(generation.Generated ? content : "", memories);
            var reply = new ReplyInfo(generation.Provider, generation.Model, generation.Generated, generation.TokensIn, generation.TokensOut,
                stream.Turn, frames);
            var (turn, sequence) = await ConflictPolicy.RetryAsync(async () =>
            {
                await using var session = engine.Store.OpenFor(command);
                var now = engine.Clock.GetUtcNow();
                var (recorded, _) = await TurnWriter.AppendAsync(session, command, engine, conversation.Id, TurnRole.Assistant,
                    content.Length == 0 ? "(empty reply)" : content, citations, reply, now, ct);
                RecordCalls(session, conversation.Id, stream.Turn, calls, now);
                return (recorded.Turn, await session.CommitAsync(command, conversation.Id.ToString(), Outcome.Done, now, ct));
            });
            stream.Done(JsonSerializer.Serialize(Result(turn, content, citations, reply, sequence), JsonSerializerOptions.Web),
                engine.Clock.GetUtcNow());
        }
        catch (Exception) when (committed.IsFaulted)
        {
            // The user turn's write failed: the request answers that failure; this reply never was.
        }
        catch (ReplyFailed failed)
        {
            try
            {
                await committed.WaitAsync(ct);
                // The failed calls are recorded (usage, breaker figures); the command's audit records the failure.
                await using var session = engine.Store.OpenFor(command);
                RecordCalls(session, conversation.Id, stream.Turn, failed.Calls, engine.Clock.GetUtcNow());
                await session.SaveChangesAsync(ct);
            }
            catch (Exception e) when (!committed.IsFaulted)
            {
                engine.Log.LogError(e, "Could not record the failed model calls of conversation {Conversation}", conversation.Id);
            }
            catch (Exception)
            {
                return;
            }
            stream.Fail(new ReplyFailed(failed.TimedOut, failed.ErrorClass, failed.Message, stream.Turn, failed.Calls), engine.Clock.GetUtcNow());
        }
        catch (Exception e)
        {
            engine.Log.LogError(e, "Reply to turn {Turn} of conversation {Conversation} failed", stream.Turn, conversation.Id);
            stream.Fail(e, engine.Clock.GetUtcNow());
        }
        finally
        {
            abandon.Dispose();
        }
    }

    private static Task<RecallResponse> RecallAsync(ConversationEngine engine, string tenant, string subject, ReplyRequest body, CancellationToken ct) =>
        engine.Recall.RunAsync(tenant,
            new RecallRequest(body.Message, subject, null, null, null, null, body.Limit ?? ConversationLimits.DefaultRecall, null, body.MinSequence, null), ct);

    /// <summary>A recall started before the stream's lock, for the subject this process knew the conversation by.</summary>
    private sealed class EarlyRecall
    {
        public EarlyRecall(string subject, Task<RecallResponse> recalled)
        {
            Subject = subject;
            Recalled = recalled;
            // A reply that never uses it (its write failed) leaves no unobserved failure behind.
            _ = recalled.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        public string Subject { get; }
        public Task<RecallResponse> Recalled { get; }
    }

    /// <summary>Each model call on a stream of its own: the conversation's stream stays free of them.</summary>
    internal static void RecordCalls(IDocumentSession session, Guid conversationId, int turn, IReadOnlyList<Ai.ModelCall> calls, DateTimeOffset now)
    {
        foreach (var c in calls)
        {
            var id = Guid.CreateVersion7();
            session.Events.StartStream(id, new Domain.Ai.CompletionRecorded(id, conversationId, turn, c.Provider, c.Model, c.Succeeded,
                Math.Round(c.LatencyMs, 3), c.FirstTokenMs is { } f ? Math.Round(f, 3) : null, c.TokensIn, c.TokensOut, c.ErrorClass, now));
        }
    }

    public static ReplyResult Result(int turn, string content, IReadOnlyList<Citation> citations, ReplyInfo reply, long sequence) => new(
        turn, content, citations.Select(c => new CitationView(c.MemoryId, c.Version)).ToList(), reply.Provider, reply.Model,
        reply.Generated, reply.TokensIn, reply.TokensOut, reply.ReplyTo, sequence);

    /// <summary>The conversation's turns that still open (a forgotten subject's older turns do not), oldest first.</summary>
    private static async Task<List<PromptMessage>> OpenTurnsAsync(Conversation c, string tenant, ConversationEngine engine, CancellationToken ct)
    {
        var recent = c.Turns.TakeLast(Grounding.RecentTurns).ToList();
        if (recent.Count == 0) return [];
        var found = await engine.Keys.FindAsync(tenant, recent.Select(t => t.Content.KeyId).Distinct().ToList(), ct);
        try
        {
            return recent
                .Select(t => (t.Role, Text: ConversationContent.Open(found, tenant, c.Id, t.Number, t.Content)))
                .Where(t => t.Text is not null)
                .Select(t => new PromptMessage(t.Role, t.Text!))
                .ToList();
        }
        finally
        {
            foreach (var key in found.Values) key.Dispose();
        }
    }

    /// <summary>Timestamps of a reply's steps, for its debug log line.</summary>
    private sealed class ReplySteps(long started)
    {
        public long Started { get; } = started;
        public long Locked { get; set; }
        public long Committed { get; set; }
    }
}

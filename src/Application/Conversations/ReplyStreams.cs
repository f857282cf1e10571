using System.Collections.Concurrent;

namespace Aetherra.Application.Conversations;

/// <summary>One server-sent frame of a reply: its number (the n of the SSE id "turn:n"), event name and JSON data.</summary>
public sealed record ReplyFrame(int N, string Event, string Data);

/// <summary>
/// The frames of one reply as it is generated. Generation runs apart from the request that started it, so a client
/// that drops and reconnects (Last-Event-ID) reads on from the same frames: no second model call, nothing recorded
/// twice. Readers wait for new frames; the last frame is "done" (or "error").
/// </summary>
public sealed class ReplyStream(string tenant, Guid conversationId, int turn)
{
    private readonly List<ReplyFrame> _frames = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Tenant { get; } = tenant;
    public Guid ConversationId { get; } = conversationId;
    /// <summary>The user turn this reply answers: the reply's identity in its frame ids.</summary>
    public int Turn { get; } = turn;
    public bool Finished { get; private set; }
    public DateTimeOffset? FinishedAt { get; private set; }

    public void Token(string text) => Add("token", System.Text.Json.JsonSerializer.Serialize(new { text }), false, null);

    public void Done(string json, DateTimeOffset at) => Add("done", json, true, at);

    /// <summary>Why the reply failed, once it did (its last frame is then "error").</summary>
    public Exception? Failure { get; private set; }

    public void Fail(Exception failure, DateTimeOffset at)
    {
        Failure = failure;
        var (errorClass, timedOut) = failure is ReplyFailed f ? (f.ErrorClass, f.TimedOut) : ("internal", false);
        Add("error", System.Text.Json.JsonSerializer.Serialize(new { errorClass, timedOut, turn = Turn }, System.Text.Json.JsonSerializerOptions.Web),
            true, at);
    }

    private void Add(string name, string data, bool last, DateTimeOffset? at)
    {
        TaskCompletionSource changed;
        lock (_frames)
        {
            if (Finished) return;
            _frames.Add(new ReplyFrame(_frames.Count + 1, name, data));
            Finished = last;
            FinishedAt = at;
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>The frames after the given one, as they come, up to and including the last.</summary>
    public async IAsyncEnumerable<ReplyFrame> ReadAsync(int after, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var next = after;
        while (true)
        {
            ReplyFrame[] ready;
            Task wait;
            lock (_frames)
            {
                ready = _frames.Skip(next).ToArray();
                wait = _changed.Task;
            }
            foreach (var frame in ready)
            {
                yield return frame;
                if (frame.Event is "done" or "error") yield break;
            }
            next += ready.Length;
            await wait.WaitAsync(ct);
        }
    }

    /// <summary>The first frame, once there is one: a reply that fails before any token fails as a whole.</summary>
    public async Task<ReplyFrame> FirstAsync(CancellationToken ct)
    {
        await foreach (var frame in ReadAsync(0, ct)) return frame;
        throw new InvalidOperationException("a reply stream ended without frames");
    }

    /// <summary>The last frame (done or error), once the reply finished.</summary>
    public async Task<ReplyFrame> LastAsync(CancellationToken ct)
    {
        ReplyFrame? last = null;
        await foreach (var frame in ReadAsync(0, ct)) last = frame;
        return last!;
    }
}

/// <summary>
/// The replies of this node being generated or recently finished, by tenant, conversation and user turn. A finished
/// reply stays a few minutes for reconnects; after that (or on another node) it is rebuilt from its recorded turn.
/// </summary>
public sealed class ReplyStreams(TimeProvider clock)
{
    public static readonly TimeSpan KeepFinished = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<(string, Guid, int), ReplyStream> _streams = new();

    public ReplyStream Open(string tenant, Guid conversationId, int turn)
    {
        Prune();
        var stream = new ReplyStream(tenant, conversationId, turn);
        _streams[(tenant, conversationId, turn)] = stream;
        return stream;
    }

    public ReplyStream? Find(string tenant, Guid conversationId, int turn) =>
        _streams.TryGetValue((tenant, conversationId, turn), out var s) ? s : null;

    /// <summary>Lets go of a live stream: a reconnect then rebuilds the reply from its recorded turn, as another node would.</summary>
    public void Drop(string tenant, Guid conversationId, int turn) => _streams.TryRemove((tenant, conversationId, turn), out _);

    private void Prune()
    {
        var before = clock.GetUtcNow() - KeepFinished;
        foreach (var (key, stream) in _streams)
            if (stream.FinishedAt < before) _streams.TryRemove(key, out _);
    }
}

using Aetherra.Infrastructure.Database;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aetherra.Application.Events;

/// <summary>
/// The latest events of every tenant, complete for <c>From</c> &lt; sequence &lt;= <c>To</c> (<c>To</c> a high-water
/// mark), already opened and serialised: what the live subscribers near the head of the log share instead of
/// each reading the store. <c>Forgets</c> holds, per tenant, the sequences of its subject forgettings in the
/// window: frames before one may carry text whose key is gone, so a subscriber behind one reads the store.
/// </summary>
public sealed record LiveWindow(long From, long To, IReadOnlyList<LiveEvent> Events, IReadOnlyDictionary<string, long> Forgets)
{
    public static readonly LiveWindow Empty = new(0, 0, [], new Dictionary<string, long>());

    /// <summary>Whether a subscriber at <paramref name="cursor"/> can take what follows from the window.</summary>
    public bool Serves(string tenant, long cursor) =>
        cursor >= From && cursor < To && !(Forgets.TryGetValue(tenant, out var forgot) && forgot > cursor);

    /// <summary>The events after <paramref name="cursor"/>, in order.</summary>
    public IEnumerable<LiveEvent> After(long cursor)
    {
        int lo = 0, hi = Events.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (Events[mid].Sequence <= cursor) lo = mid + 1;
            else hi = mid;
        }
        for (var i = lo; i < Events.Count; i++) yield return Events[i];
    }
}

/// <summary>
/// One poll of the high-water mark for the whole process (every 100 ms while any live subscriber waits,
/// none otherwise), instead of one per subscriber: subscribers wait on it. When the mark advances, the
/// events up to it are read once, for every tenant, into the <see cref="Window"/>; a subscriber near the head
/// takes its events from there and reads the store only when it is behind the window. One per database
/// (<see cref="HighWaterSignals"/>): each database has its own sequence and high-water mark.
/// </summary>
public sealed class HighWaterSignal(EventFeed feed, NpgsqlDataSource database, TimeProvider clock, ILogger<HighWaterSignal> log) : BackgroundService
{
    /// <summary>Most events the window keeps; an advance larger than this starts it again at the new mark.</summary>
    public const int WindowEvents = 20_000;

    private TaskCompletionSource<long> next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long current;
    private int waiting;
    private LiveWindow window = LiveWindow.Empty;

    public long Current => Interlocked.Read(ref current);

    public LiveWindow Window => Volatile.Read(ref window);

    /// <summary>Completes when the high-water mark is above <paramref name="seen"/> (or at once if it already is).</summary>
    public Task WaitAboveAsync(long seen, CancellationToken ct)
    {
        // The waiter is taken before the mark is read: the poller sets the mark first and then completes the
        // waiter it replaces, so an advance between the two is never missed.
        var waiter = Volatile.Read(ref next);
        return Current > seen ? Task.CompletedTask : WaitAsync(waiter.Task, ct);
    }

    private async Task WaitAsync(Task advanced, CancellationToken ct)
    {
        Interlocked.Increment(ref waiting);
        try { await advanced.WaitAsync(ct); }
        finally { Interlocked.Decrement(ref waiting); }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Nobody waits: no query. A subscriber arriving later waits at most one tick for a fresh mark.
                var mark = Volatile.Read(ref waiting) == 0 ? 0 : await EventFeed.HighWaterMarkAsync(database, stoppingToken);
                if (mark > Current)
                {
                    await AdvanceWindowAsync(mark, stoppingToken);
                    Interlocked.Exchange(ref current, mark);
                    Interlocked.Exchange(ref next, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously))
                        .TrySetResult(mark);
                }
            }
            catch (Exception) when (!stoppingToken.IsCancellationRequested)
            {
                // The store is away: subscribers keep waiting, the next poll tries again.
            }
            try { await Task.Delay(TimeSpan.FromMilliseconds(100), clock, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>
    /// Extends the window to <paramref name="mark"/> (before waiters are woken, so they find it there), keeping
    /// at most <see cref="WindowEvents"/>. A window that cannot be extended (a long jump, or a failed read) starts
    /// again, empty, at the mark: subscribers behind it read the store, as without a window.
    /// </summary>
    private async Task AdvanceWindowAsync(long mark, CancellationToken ct)
    {
        var old = Window;
        LiveWindow updated;
        try
        {
            if (old.To == 0 || mark - old.To > WindowEvents)
                updated = new LiveWindow(mark, mark, [], new Dictionary<string, long>());
            else
            {
                var added = await feed.ReadAllAsync(database, old.To, mark, ct);
                var events = old.Events.Concat(added).ToList();
                var from = old.From;
                if (events.Count > WindowEvents)
                {
                    from = events[events.Count - WindowEvents - 1].Sequence;
                    events = events.GetRange(events.Count - WindowEvents, WindowEvents);
                }
                var forgets = old.Forgets.Where(f => f.Value > from).ToDictionary(f => f.Key, f => f.Value);
                foreach (var e in added.Where(e => e.Type == ForgottenSubjectType)) forgets[e.Tenant] = e.Sequence;
                updated = new LiveWindow(from, mark, events, forgets);
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning(e, "Could not extend the live window to {Mark}; subscribers read the store meanwhile", mark);
            updated = new LiveWindow(mark, mark, [], new Dictionary<string, long>());
        }
        Volatile.Write(ref window, updated);
    }

    private const string ForgottenSubjectType = "subject.forgotten.v1";
}

/// <summary>The live signal of each database (the home one only, without tenant placement), run together.</summary>
public sealed class HighWaterSignals(EventFeed feed, TenantDatabases databases, TimeProvider clock, ILogger<HighWaterSignal> log) : IHostedService
{
    private readonly Dictionary<string, HighWaterSignal> signals =
        databases.All.ToDictionary(d => d.Name, d => new HighWaterSignal(feed, d.DataSource, clock, log));

    /// <summary>The signal of the tenant's database.</summary>
    public HighWaterSignal For(string tenant) => signals[databases.Of(tenant).Name];

    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var signal in signals.Values) await signal.StartAsync(ct);
    }

    public async Task StopAsync(CancellationToken ct)
    {
        foreach (var signal in signals.Values) await signal.StopAsync(ct);
    }
}

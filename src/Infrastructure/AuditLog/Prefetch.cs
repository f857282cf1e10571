using System.Threading.Channels;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>
/// Runs a reader ahead of its consumer on another thread, in batches, so that PostgreSQL producing rows,
/// Npgsql parsing them and the consumer hashing them overlap instead of taking turns.
/// </summary>
internal sealed class Prefetch<T> : IAsyncDisposable
{
    private const int BatchSize = 4096;
    private readonly Channel<T[]> _channel = Channel.CreateBounded<T[]>(new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop;
    private readonly Task _producer;
    private T[] _batch = [];
    private int _next;

    public Prefetch(Func<CancellationToken, IAsyncEnumerable<T>> source, CancellationToken ct)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _producer = Task.Run(() => ProduceAsync(source(_stop.Token)));
    }

    public T Current { get; private set; } = default!;

    public async ValueTask<bool> MoveNextAsync()
    {
        while (_next >= _batch.Length)
        {
            if (!await _channel.Reader.WaitToReadAsync(_stop.Token)) return false;
            if (_channel.Reader.TryRead(out var batch)) (_batch, _next) = (batch, 0);
        }
        Current = _batch[_next++];
        return true;
    }

    private async Task ProduceAsync(IAsyncEnumerable<T> source)
    {
        try
        {
            var batch = new List<T>(BatchSize);
            await foreach (var item in source.WithCancellation(_stop.Token))
            {
                batch.Add(item);
                if (batch.Count < BatchSize) continue;
                await _channel.Writer.WriteAsync([.. batch], _stop.Token);
                batch.Clear();
            }
            if (batch.Count > 0) await _channel.Writer.WriteAsync([.. batch], _stop.Token);
            _channel.Writer.Complete();
        }
        catch (Exception e)
        {
            _channel.Writer.TryComplete(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _producer;
        _stop.Dispose();
    }
}

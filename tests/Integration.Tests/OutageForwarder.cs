using System.Net;
using System.Net.Sockets;

namespace Aetherra.Integration.Tests;

/// <summary>
/// A TCP forwarder between a host and PostgreSQL, to cut the store off for real: <see cref="Stop"/> closes
/// the listening port (new connections are refused) and every forwarded connection (pooled ones break);
/// <see cref="Start"/> listens (again, on the same port) unless it already does.
/// </summary>
public sealed class OutageForwarder(string targetHost, int targetPort) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<TcpClient> _open = [];
    private TcpListener? _listener;

    public int Port { get; private set; }

    public void Start()
    {
        lock (_gate)
        {
            if (_listener is not null) return;
        }
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        lock (_gate) _listener = listener;
        _ = AcceptAsync(listener);
    }

    public void Stop()
    {
        lock (_gate)
        {
            _listener?.Stop();
            _listener = null;
            foreach (var client in _open)
            {
                // Reset, not a polite close: the peers see the connection die as in a crash.
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
            }
            _open.Clear();
        }
    }

    public void Dispose() => Stop();

    private async Task AcceptAsync(TcpListener listener)
    {
        while (true)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = ForwardAsync(inbound);
        }
    }

    private async Task ForwardAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        lock (_gate)
        {
            if (_listener is null)
            {
                inbound.Dispose();
                outbound.Dispose();
                return;
            }
            _open.Add(inbound);
            _open.Add(outbound);
        }
        try
        {
            await outbound.ConnectAsync(targetHost, targetPort);
            var a = inbound.GetStream();
            var b = outbound.GetStream();
            await Task.WhenAny(a.CopyToAsync(b), b.CopyToAsync(a));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // A cut connection is the point of this class.
        }
        finally
        {
            lock (_gate)
            {
                _open.Remove(inbound);
                _open.Remove(outbound);
            }
            inbound.Dispose();
            outbound.Dispose();
        }
    }
}

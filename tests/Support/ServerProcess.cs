using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Aetherra.Testing;

/// <summary>
/// The real server, built by ops/bench, as a child process on a free loopback port: its CPU time, thread
/// pool and garbage collector are its own, as in production, and not shared with the load it is under.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _pump;

    public Uri BaseAddress { get; }
    public int? Pid => _process.HasExited ? null : _process.Id;
    public string AdminKey { get; private set; } = "";
    public string LogFile { get; }

    private ServerProcess(Process process, Task pump, Uri baseAddress, string logFile)
    {
        _process = process;
        _pump = pump;
        BaseAddress = baseAddress;
        LogFile = logFile;
    }

    /// <param name="environment">extra environment of the server (e.g. AETHERRA_EMBEDDINGS=off)</param>
    /// <param name="masterKey">the master key (base64); a random one when null. A restart on the same database needs the same.</param>
    public static async Task<ServerProcess> StartAsync(
        string dll, string connectionString, string workDir, CancellationToken ct,
        IReadOnlyDictionary<string, string>? environment = null, string? masterKey = null)
    {
        var port = FreePort();
        var adminKeyFile = Path.Combine(workDir, "admin.key");
        var logFile = Path.Combine(workDir, $"server-{port}.log");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll },
            // As ops/run: the content root (appsettings.json) is the project directory.
            WorkingDirectory = ApiProjectDir(dll),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false
        };
        start.Environment["AETHERRA_DB"] = connectionString;
        // AETHERRA_BENCH_MASTER_KEY: a key of one's own, to start a server by hand on a database the driver kept
        // (AETHERRA_BENCH_KEEP_DATABASES=1) and profile it.
        start.Environment["AETHERRA_MASTER_KEY"] = masterKey ?? Environment.GetEnvironmentVariable("AETHERRA_BENCH_MASTER_KEY") ?? Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        start.Environment["AETHERRA_MASTER_KEY_FILE"] = null;
        start.Environment["AETHERRA_ADMIN_KEY_FILE"] = adminKeyFile;
        start.Environment["AETHERRA_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");
        // The server logs every request (its production default); the log goes to a file, never to a pipe
        // left unread, which would stall the server once the pipe buffer fills.
        var log = new StreamWriter(logFile) { AutoFlush = false };
        var pump = Task.WhenAll(Pump(process.StandardOutput, log), Pump(process.StandardError, log))
            .ContinueWith(_ => log.Dispose(), TaskScheduler.Default);
        var server = new ServerProcess(process, pump, new Uri($"http://127.0.0.1:{port}"), logFile);
        try
        {
            await server.WaitReadyAsync(ct);
            // Written on the database's first start only: a restart keeps the key read then.
            if (File.Exists(adminKeyFile)) server.AdminKey = (await File.ReadAllTextAsync(adminKeyFile, ct)).Trim();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static async Task Pump(StreamReader from, StreamWriter to)
    {
        var buffer = new char[8192];
        int read;
        while ((read = await from.ReadAsync(buffer)) > 0)
        {
            lock (to) to.Write(buffer, 0, read);
        }
    }

    private async Task WaitReadyAsync(CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        // Generous: under a whole test run on 2 shared cores a cold start took more than 90 s.
        var deadline = DateTime.UtcNow.AddSeconds(240);
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"the server exited with code {_process.ExitCode} during start-up; see {LogFile}");
            try
            {
                using var response = await http.GetAsync("/health/ready", ct);
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the server was not ready within 240 s; see {LogFile}");
            await Task.Delay(200, ct);
        }
    }

    /// <summary>A new API key of <paramref name="tenant"/> with the scopes, issued with the bootstrap admin key.</summary>
    public async Task<string> NewKeyAsync(string name, string tenant, string[] scopes, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/keys")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { name, tenant, scopes })
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        using var response = await http.SendAsync(request, ct);
        if (response.StatusCode != System.Net.HttpStatusCode.Created)
            throw new InvalidOperationException($"/admin/keys answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return body.RootElement.GetProperty("key").GetString()!;
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            // SIGTERM: ASP.NET shuts down gracefully and closes its connections; kill only if it hangs.
            _ = Kill(_process.Id, 15);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try { await _process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        await _pump;
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // bin/Release/net10.0/aetherra.dll -> the project directory, when the dll is where dotnet build puts it.
    public static string ApiProjectDir(string dll)
    {
        var dir = new DirectoryInfo(Path.GetDirectoryName(Path.GetFullPath(dll))!);
        var project = dir.Parent?.Parent?.Parent;
        return project is not null && File.Exists(Path.Combine(project.FullName, "Aetherra.Api.csproj")) ? project.FullName : dir.FullName;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

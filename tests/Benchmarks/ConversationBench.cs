using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Aetherra.Benchmarks;

/// <summary>
/// `ops/bench conversations`: what Aetherra adds to a reply's time to first token. A loopback OpenAI-compatible
/// provider (in this process, streaming its first chunk at once) is called directly, and through
/// POST /conversations/{id}/reply with Accept: text/event-stream (auth, the user turn recorded and committed,
/// recall over the subject's memories, the grounded prompt, the provider's first chunk relayed as the first token
/// frame), alternately in the same run, with N memories of the conversation's subject in the tenant (loaded by
/// POST /memories/batch, the fastest bulk path). Extraction is off for the measured conversations: it runs off
/// the reply's path anyway, and its provider calls would share the fake provider with the timed ones.
/// </summary>
public static class ConversationBench
{
    public const string Usage = """
        aetherra-bench conversations [options]   (normally run through `ops/bench conversations`)

          --memories N     memories of the subject in the tenant (default 100000; --quick 2000)
          --replies N      timed replies per side (default 300; --quick 30)
          --quick          a smoke run: small sizes, figures not to quote
          --server DLL     the built server (default src/Api/bin/Release/net10.0/aetherra.dll)
        """;

    private const int TurnsPerConversation = 20;

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        long memories = 100_000;
        var replies = 300;
        var quick = false;
        long? memoriesSet = null;
        int? repliesSet = null;
        string? serverDll = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--memories": memoriesSet = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--replies": repliesSet = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--quick": quick = true; break;
                case "--server": serverDll = args[++i]; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }
        }
        memories = memoriesSet ?? (quick ? 2_000 : memories);
        replies = repliesSet ?? (quick ? 30 : replies);
        var cluster = Environment.GetEnvironmentVariable("AETHERRA_BENCH_DB")
            ?? throw new InvalidOperationException("AETHERRA_BENCH_DB is not set: run ops/bench conversations (it starts a throwaway PostgreSQL).");
        serverDll ??= Paths.DefaultServerDll();
        var machine = await Machine.DescribeAsync(cluster);
        var workDir = Directory.CreateTempSubdirectory("aetherra-bench-conversations.").FullName;
        using var provider = LoopbackProvider.Start();
        await using var databases = new Databases(cluster);
        await using var server = await ServerProcess.StartAsync(serverDll, await databases.CreateAsync("conversations", ct), workDir, ct,
            new Dictionary<string, string> { ["AETHERRA_EMBEDDINGS"] = "off", ["AETHERRA_VITALS_SECONDS"] = "0" });
        using var op = Client(server.BaseAddress, await server.NewKeyAsync("operator", "default", ["operator"], ct));
        using var http = Client(server.BaseAddress, await server.NewKeyAsync("bench", "bench",
            ["conversations:read", "conversations:write", "memory:read", "memory:write"], ct));
        using var direct = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };

        var configured = await op.PutAsJsonAsync("/admin/ai/providers", new
        {
            providers = new[] { new { name = "loopback", kind = "openai", baseUrl = provider.BaseUrl, model = "bench", timeoutSeconds = 30 } },
        }, ct);
        if (configured.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"PUT /admin/ai/providers answered {(int)configured.StatusCode}: {await configured.Content.ReadAsStringAsync(ct)}");

        var data = new Synthetic(seed: 11, subjects: 1);
        var subject = data.SubjectOf(0);
        Console.Error.WriteLine($"aetherra-bench: loading {memories:N0} memories of {subject} by POST /memories/batch");
        var loading = Stopwatch.GetTimestamp();
        long last = 0;
        foreach (var body in data.Bodies(0, memories))
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync("/memories/batch", content, ct);
            if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"/memories/batch answered {(int)response.StatusCode}");
            last = Math.Max(last, (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("sequence").GetInt64());
        }
        Console.Error.WriteLine($"aetherra-bench:   loaded in {Stopwatch.GetElapsedTime(loading).TotalSeconds:0.0} s; waiting for recall to index them");
        while (true)
        {
            using var response = await http.PostAsJsonAsync("/recall", new { query = "warm", subject, minSequence = last }, ct);
            if (response.StatusCode == HttpStatusCode.OK) break;
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable) throw new InvalidOperationException($"/recall answered {(int)response.StatusCode}");
        }

        var queries = Enumerable.Range(0, replies + 20).Select(q => data.Query(q, memories).Text).ToArray();
        Guid conversation = default;
        var turns = TurnsPerConversation;
        async Task<double> ThroughAetherra(string message)
        {
            // A fresh conversation every few replies: the prompt carries the last 12 turns, as in real use.
            if (turns >= TurnsPerConversation)
            {
                using var started = await http.PostAsJsonAsync("/conversations", new { subject, agent = "bench", extraction = false }, ct);
                conversation = (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetGuid();
                turns = 0;
            }
            turns += 2;
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/conversations/{conversation}/reply")
            {
                Content = JsonContent.Create(new { message }),
            };
            request.Headers.Accept.ParseAdd("text/event-stream");
            return await FirstTokenAsync(http, request, "event: token", ct);
        }
        async Task<double> Direct(string message)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, provider.BaseUrl + "/chat/completions")
            {
                Content = JsonContent.Create(new
                {
                    model = "bench", stream = true,
                    messages = new[] { new { role = "system", content = "You are an assistant." }, new { role = "user", content = message } },
                }),
            };
            return await FirstTokenAsync(direct, request, "data: ", ct);
        }

        // Untimed warm-up of both paths, then the two alternate so that both see the same machine.
        for (var i = 0; i < 20; i++)
        {
            await Direct(queries[i]);
            await ThroughAetherra(queries[i]);
        }
        var (viaAetherra, viaDirect) = (new List<double>(replies), new List<double>(replies));
        for (var i = 0; i < replies; i++)
        {
            viaDirect.Add(await Direct(queries[20 + i]));
            viaAetherra.Add(await ThroughAetherra(queries[20 + i]));
        }

        var markdown = Markdown(memories, replies, quick, viaAetherra, viaDirect, machine);
        Console.WriteLine(markdown);
        // AETHERRA_BENCH_LOG=PATH keeps the server's log (e.g. its step timings with AETHERRA_LOG_DEBUG).
        if (Environment.GetEnvironmentVariable("AETHERRA_BENCH_LOG") is { Length: > 0 } keep)
        {
            await server.DisposeAsync();
            File.Copy(server.LogFile, keep, overwrite: true);
        }
        Directory.Delete(workDir, recursive: true);
        return 0;
    }

    private static HttpClient Client(Uri baseAddress, string key)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>Milliseconds from sending the request to reading the first line that starts with <paramref name="marker"/>; the rest is drained.</summary>
    private static async Task<double> FirstTokenAsync(HttpClient http, HttpRequestMessage request, string marker, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"{request.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        double? first = null;
        while (await reader.ReadLineAsync(ct) is { } line)
            if (first is null && line.StartsWith(marker, StringComparison.Ordinal))
                first = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return first ?? throw new InvalidOperationException($"{request.RequestUri} sent no '{marker}' line");
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static string Markdown(long memories, int replies, bool quick, List<double> aetherra, List<double> direct, Machine machine)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Command: `{Environment.GetEnvironmentVariable("AETHERRA_BENCH_COMMAND") ?? "ops/bench conversations"}` ({memories:N0} memories of the " +
            $"subject in the tenant, embeddings off, {replies} replies per side, alternating, one client; commit {machine.Commit}, " +
            $"{machine.At:yyyy-MM-dd}, {machine.Cpus} CPUs {machine.CpuModel}, {machine.Postgres}){(quick ? " (--quick: not figures to quote)" : "")}.");
        md.AppendLine();
        md.AppendLine("| time to first token | p50 ms | p95 ms |");
        md.AppendLine("|---|---:|---:|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| the loopback provider called directly | {Percentile(direct, 0.5):F1} | {Percentile(direct, 0.95):F1} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| POST /conversations/{{id}}/reply (SSE) | {Percentile(aetherra, 0.5):F1} | {Percentile(aetherra, 0.95):F1} |");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"| added by Aetherra | {Percentile(aetherra, 0.5) - Percentile(direct, 0.5):F1} | {Percentile(aetherra, 0.95) - Percentile(direct, 0.95):F1} |");
        return md.ToString().TrimEnd();
    }

    /// <summary>
    /// An OpenAI-compatible chat completions endpoint on loopback (HttpListener): every request is answered with a
    /// stream of chunks, the first at once, then usage and [DONE]: a provider whose own time to first token is
    /// as small as this machine allows, so what the reply adds stands out.
    /// </summary>
    private sealed class LoopbackProvider : IDisposable
    {
        private static readonly string[] Words = ["Here", " is", " what", " I", " know", " [1]."];
        private readonly HttpListener _listener;

        private LoopbackProvider(HttpListener listener, string baseUrl)
        {
            _listener = listener;
            BaseUrl = baseUrl;
        }

        public string BaseUrl { get; }

        public static LoopbackProvider Start()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            listener.Start();
            var provider = new LoopbackProvider(listener, $"http://127.0.0.1:{port}/v1");
            _ = Task.Run(provider.ServeAsync);
            return provider;
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception) when (!_listener.IsListening) { return; }
                catch (HttpListenerException) { return; }
                _ = Task.Run(() => AnswerAsync(context));
            }
        }

        private static async Task AnswerAsync(HttpListenerContext context)
        {
            try
            {
                await context.Request.InputStream.CopyToAsync(Stream.Null);
                var response = context.Response;
                response.ContentType = "text/event-stream";
                response.SendChunked = true;
                var output = response.OutputStream;
                foreach (var word in Words)
                {
                    var chunk = JsonSerializer.Serialize(new
                    {
                        id = "b1", @object = "chat.completion.chunk", created = 1, model = "bench",
                        choices = new[] { new { index = 0, delta = new { content = word }, finish_reason = (string?)null } },
                    });
                    await output.WriteAsync(Encoding.UTF8.GetBytes($"data: {chunk}\n\n"));
                    await output.FlushAsync();
                }
                await output.WriteAsync(Encoding.UTF8.GetBytes(
                    "data: {\"id\":\"b1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
                    "data: {\"id\":\"b1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":6,\"total_tokens\":106}}\n\n" +
                    "data: [DONE]\n\n"));
                response.Close();
            }
            catch (Exception e) when (e is IOException or HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                // A client that went away: nothing to answer.
            }
        }

        public void Dispose() => _listener.Close();
    }
}

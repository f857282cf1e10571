using System.Diagnostics;
using System.Net.Http.Headers;
using Aetherra.Testing;
using Npgsql;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// Three nodes of one installation on one PostgreSQL (real server processes on loopback), writes through all of them,
/// then kill -9 of the node running the recall projection: its projections and timers move to the survivors within a
/// bound, no event is skipped or applied twice (every async read model equals a fresh rebuild), the Merkle log verifies
/// with its checkpoints, and a live-feed client that reconnects to another node with Last-Event-ID misses nothing.
/// </summary>
public sealed class ClusterFailoverTests(AetherraFixture fx)
{
    /// <summary>How long a silent node counts as alive here (AETHERRA_CLUSTER_STALE_SECONDS).</summary>
    private const int StaleSeconds = 6;

    /// <summary>
    /// The hand-over bound asserted: the stale timeout, Wolverine's second look one heartbeat later, the leader's
    /// reassignment and the projection catching up, with room for a machine busy with the whole suite.
    /// </summary>
    private static readonly TimeSpan HandOverBound = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task a_killed_nodes_projections_and_timers_move_and_nothing_is_skipped_or_applied_twice()
    {
        var ct = TestContext.Current.CancellationToken;
        var work = Directory.CreateTempSubdirectory("aetherra-cluster-").FullName;
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var auditKeyFile = Path.Combine(work, "audit.key");
        await File.WriteAllTextAsync(auditKeyFile, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), ct);
        Dictionary<string, string> Environment(string node) => new()
        {
            ["AETHERRA_NODE"] = node, ["AETHERRA_CLUSTER_STALE_SECONDS"] = StaleSeconds.ToString(),
            ["AETHERRA_AUDIT_KEY_FILE"] = auditKeyFile, ["AETHERRA_AUDIT_CHECKPOINT_SECONDS"] = "1",
            ["AETHERRA_VITALS_SECONDS"] = "0", ["AETHERRA_EMBEDDINGS"] = "off",
        };
        var database = await fx.NewDatabaseAsync();
        async Task<ServerProcess> Start(string node)
        {
            var dir = Directory.CreateDirectory(Path.Combine(work, node)).FullName;
            return await ServerProcess.StartAsync(AetherraFixture.ApiDll(), database, dir, ct, Environment(node), masterKey);
        }

        // The first node creates the schema and the bootstrap key; the other two join it.
        var servers = new Dictionary<string, ServerProcess> { ["a"] = await Start("a") };
        try
        {
            var joined = await Task.WhenAll(Start("b"), Start("c"));
            (servers["b"], servers["c"]) = (joined[0], joined[1]);
            var adminKey = servers["a"].AdminKey;
            var key = await servers["a"].NewKeyAsync("cluster", "cluster",
                ["memory:read", "memory:write", "decisions:read", "decisions:write", "events:read", "audit:read"], ct);
            HttpClient Client(string node, string k)
            {
                var http = new HttpClient { BaseAddress = servers[node].BaseAddress, Timeout = TimeSpan.FromSeconds(100) };
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", k);
                return http;
            }

            // Every async projection and every cluster timer runs on exactly one of the three nodes.
            var projections = (await (await Client("a", adminKey).GetAsync("/admin/projections", ct)).Json()).EnumerateArray()
                .Where(p => p.GetProperty("lifecycle").GetString() == "async").Select(p => p.GetProperty("name").GetString()!.ToLowerInvariant()).ToArray();
            string[] timers = ["aetherra-checkpoints://", "aetherra-vitals://", "aetherra-dead-letters://", "aetherra-self-snapshots://"];
            bool Complete(JsonElement cluster, IReadOnlyCollection<string> names) =>
                cluster.GetProperty("nodes").GetArrayLength() == names.Count
                && cluster.GetProperty("nodes").EnumerateArray().All(n => names.Contains(n.GetProperty("name").GetString()))
                && projections.All(p => RunningOn(cluster, $"/{p}/").Count == 1)
                && timers.All(t => RunningOn(cluster, t).Count == 1);
            var cluster = await WaitForClusterAsync(Client("a", adminKey), c => Complete(c, ["a", "b", "c"]), TimeSpan.FromSeconds(120), ct);
            var victim = RunningOn(cluster, "/recallentry/").Single();
            var survivors = servers.Keys.Where(n => n != victim).ToArray();

            // Writes through every node: memories, and decisions with outcomes (the learning loop counts them, so an
            // outcome applied twice would show).
            var written = new List<long>();
            async Task WriteAsync(string node, int i)
            {
                var http = Client(node, key);
                written.Add((await http.RecordAsync(Api.Memory($"note {i} written through node {node}", subject: $"s{i % 4}"))).Sequence);
                var decision = await (await http.PostAsJsonAsync("/decisions", new
                {
                    agent = "clustered", category = "ops", action = $"action {i}", confidence = 0.95, rationale = "test", risk = "low"
                }, ct)).Json();
                var outcome = await http.PostAsJsonAsync($"/decisions/{decision.GetProperty("id").GetGuid()}/outcome", new { success = i % 3 != 0 }, ct);
                Assert.True(outcome.IsSuccessStatusCode, await outcome.Content.ReadAsStringAsync(ct));
                written.Add((await outcome.Json()).GetProperty("sequence").GetInt64());
            }
            for (var i = 0; i < 9; i++) await WriteAsync(servers.Keys.ElementAt(i % 3), i);

            // A live-feed client on the victim, reading as events arrive.
            var received = new List<long>();
            var feed = ReadFeedAsync(Client(victim, key), null, received, long.MaxValue, ct);
            await WaitUntilAsync(() => { lock (received) return received.Count > 0; }, TimeSpan.FromSeconds(60), "the feed delivered nothing", ct);

            // kill -9: no goodbye to the cluster, no flush.
            var clock = Stopwatch.StartNew();
            Process.GetProcessById(servers[victim].Pid!.Value).Kill();
            await feed; // ends when the connection breaks

            // Writes go on through the survivors meanwhile; the first that is recallable marks the hand-over.
            var (recallId, recallSequence) = await Client(survivors[0], key).RecordAsync(Api.Memory("written while a node was dead", subject: "after"));
            written.Add(recallSequence);
            for (var i = 9; i < 15; i++) await WriteAsync(survivors[i % 2], i);
            var reader = Client(survivors[1], key);
            while (true)
            {
                var recall = await reader.PostAsJsonAsync("/recall", new { query = "dead node", subject = "after", minSequence = recallSequence }, ct);
                if (recall.StatusCode == HttpStatusCode.OK)
                {
                    Assert.Contains((await recall.Json()).GetProperty("results").EnumerateArray(), r => r.GetProperty("id").GetGuid() == recallId);
                    break;
                }
                Assert.Equal(HttpStatusCode.ServiceUnavailable, recall.StatusCode);
                Assert.True(clock.Elapsed < HandOverBound, $"the recall projection had not moved {HandOverBound.TotalSeconds} s after the kill");
            }
            var recallMoved = clock.Elapsed;
            cluster = await WaitForClusterAsync(Client(survivors[0], adminKey), c => Complete(c, survivors), HandOverBound - clock.Elapsed, ct);
            var allMoved = clock.Elapsed;
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"figure: hand-over after kill -9 of node {victim} (stale after {StaleSeconds} s): recall answered the survivors' write after " +
                $"{recallMoved.TotalSeconds:0.0} s; every projection and timer ran on a survivor after {allMoved.TotalSeconds:0.0} s");
            Assert.True(allMoved < HandOverBound, $"hand-over took {allMoved}");

            // The feed, resumed on another node from the last id it saw, misses nothing and repeats nothing.
            var last = written.Max();
            var admin = Client(survivors[0], adminKey);
            var all = await AllEventsAsync(Client(survivors[1], key), last, ct);
            long resumeFrom;
            lock (received) resumeFrom = received[^1];
            await ReadFeedAsync(Client(survivors[1], key), resumeFrom, received, all[^1], ct);
            Assert.Equal(all, received);

            // Every async read model equals a fresh rebuild once all have caught up with the last event.
            long max;
            await using (var db = new NpgsqlConnection(database))
            {
                await db.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand("select max(seq_id) from aetherra.mt_events", db);
                max = (long)(await cmd.ExecuteScalarAsync(ct))!;
            }
            await WaitUntilAsync(async () => (await (await admin.GetAsync("/admin/projections", ct)).Json()).EnumerateArray()
                .Where(p => p.GetProperty("lifecycle").GetString() == "async").All(p => p.GetProperty("position").GetInt64() >= max),
                TimeSpan.FromSeconds(120), $"the async projections did not reach {max}", ct);
            await ReadModels.AssertEqualToRebuildsAsync(admin, database, await ReadModels.SnapshotAsync(database, "aetherra", ct), max, ct);

            // The Merkle log: a checkpoint covers the last event, and `aetherra audit verify` recomputes the tree from the
            // events and checks every signed checkpoint (each size is stored once: tree_size is the table's key).
            await BackupDrillTests.WaitForCheckpointAsync(admin, max, ct);
            var verify = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "audit", "verify"], new Dictionary<string, string?>
            {
                ["AETHERRA_DB"] = database, ["AETHERRA_MASTER_KEY"] = masterKey, ["AETHERRA_MASTER_KEY_FILE"] = null,
                ["AETHERRA_AUDIT_KEY_FILE"] = auditKeyFile, ["AETHERRA_AUDIT_KEY"] = null, ["ASPNETCORE_ENVIRONMENT"] = "Production",
            }, ct, workingDirectory: ServerProcess.ApiProjectDir(AetherraFixture.ApiDll()));
            Assert.True(verify.ExitCode == 0, verify.ToString());
            Assert.Contains("\"ok\":true", verify.Stdout);
        }
        finally
        {
            foreach (var server in servers.Values) await server.DisposeAsync();
        }
        Directory.Delete(work, recursive: true);
    }

    /// <summary>The nodes (by name) whose agents include one whose URI contains <paramref name="agent"/>.</summary>
    private static List<string> RunningOn(JsonElement cluster, string agent) => cluster.GetProperty("nodes").EnumerateArray()
        .Where(n => n.GetProperty("agents").EnumerateArray().Any(a => a.GetString()!.Contains(agent, StringComparison.Ordinal)))
        .Select(n => n.GetProperty("name").GetString()!)
        .ToList();

    private static async Task<JsonElement> WaitForClusterAsync(HttpClient admin, Func<JsonElement, bool> done, TimeSpan within, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + within;
        while (true)
        {
            var cluster = await (await admin.GetAsync("/admin/cluster", ct)).Json();
            if (done(cluster)) return cluster;
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the cluster did not settle within {within.TotalSeconds:0} s: {cluster}");
            await Task.Delay(250, ct);
        }
    }

    private static Task WaitUntilAsync(Func<bool> done, TimeSpan within, string failure, CancellationToken ct) =>
        WaitUntilAsync(() => Task.FromResult(done()), within, failure, ct);

    private static async Task WaitUntilAsync(Func<Task<bool>> done, TimeSpan within, string failure, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + within;
        while (!await done())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, failure);
            await Task.Delay(100, ct);
        }
    }

    /// <summary>The tenant's events up to and including <paramref name="upTo"/>, by GET /events, as sequences.</summary>
    private static async Task<List<long>> AllEventsAsync(HttpClient http, long upTo, CancellationToken ct)
    {
        var ids = new List<long>();
        long after = 0;
        while (true)
        {
            var page = await http.EventsAsync($"/events?after={after}&limit=500&minSequence={upTo}");
            ids.AddRange(page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("sequence").GetInt64()));
            if (page.GetProperty("next").ValueKind != JsonValueKind.Number || ids.Count == 0 || ids[^1] >= upTo) break;
            after = page.GetProperty("next").GetInt64();
        }
        return ids.Where(i => i <= upTo).ToList();
    }

    /// <summary>Reads the live feed into <paramref name="into"/> until it has seen <paramref name="until"/> or the connection breaks.</summary>
    private static async Task ReadFeedAsync(HttpClient http, long? lastEventId, List<long> into, long until, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/events/stream");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId.ToString());
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (!line.StartsWith("id: ", StringComparison.Ordinal)) continue;
                var id = long.Parse(line[4..]);
                lock (into) into.Add(id);
                if (id >= until) return;
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            // The node died under the stream: the client reconnects elsewhere.
        }
    }
}

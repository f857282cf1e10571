using System.Text.Json.Nodes;
using Aetherra.Integration.Tests.Decisions;
using Aetherra.Integration.Tests.Plugins;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Aetherra.Integration.Tests;

/// <summary>
/// Issue 13: a tenant's administrator (scope <c>admin</c>) reaches nothing of another tenant, on any route. Every
/// route the server maps (its endpoint data source) must have a decision below, so a new route without one fails
/// <see cref="every_route_has_an_isolation_decision"/>; then the administrator of tenant B calls each route aimed
/// at tenant A's things, and A is found unchanged and unseen.
/// </summary>
public sealed class TenantAdminIsolationTests(AetherraFixture fx)
{
    /// <summary>What a route does for B's administrator when it names (or could show) A's things.</summary>
    private enum Decision
    {
        /// <summary>Answers without a key; shows nothing of A.</summary>
        Anonymous,
        /// <summary>The operator's only: 403 for a tenant's administrator.</summary>
        OperatorOnly,
        /// <summary>Names A's resource: 404 exactly as an unknown one (or 403 when the request itself is the operator's).</summary>
        NamesAnotherTenant,
        /// <summary>Acts in or lists B's own tenant: answers, showing nothing of A.</summary>
        OwnTenant,
    }

    private sealed record Victim(
        TenantKey Key, string Marker, Guid MemoryId, long MemorySequence, Guid DecisionId, string DecisionStatus, string PluginId, Publisher Publisher, string PublisherKeyId,
        Guid JobId, TenantKey OtherKey, Guid ConversationId, Guid TaskId, Guid ChangeId, string AgentName, Guid ExportId, Guid HubSourceId);

    private sealed record Case(Decision Decision, Func<Victim, HttpRequestMessage[]> Requests, HttpStatusCode[]? Expected = null);

    private static HttpRequestMessage Req(HttpMethod method, string path, object? body = null) =>
        new(method, path) { Content = body is null ? null : JsonContent.Create(body) };

    private static HttpRequestMessage[] One(HttpMethod method, string path, object? body = null) => [Req(method, path, body)];

    private static readonly HttpStatusCode[] Answered = [HttpStatusCode.OK, HttpStatusCode.Created, HttpStatusCode.Accepted];

    /// <summary>"METHOD pattern" of every route, and what B's administrator gets from it.</summary>
    private static readonly Dictionary<string, Case> Routes = new()
    {
        ["GET /health/live"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/health/live")),
        ["GET /health/ready"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/health/ready")),
        ["* /metrics"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/metrics")),
        ["GET /openapi/{documentName}.json"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/openapi/v1.json")),
        ["GET /docs/{documentName?}"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/docs/v1")),
        ["GET /docs/scalar.js"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/docs/scalar.js")),
        ["GET /docs/scalar.aspnetcore.js"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/docs/scalar.aspnetcore.js")),
        ["GET /docs/favicon.svg"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/docs/favicon.svg")),

        ["POST /memories"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/memories", Api.Memory("B's own note"))),
        ["POST /memories/batch"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/memories/batch",
            new { memories = new[] { Api.Memory("B's batch note") } })),
        ["GET /memories/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/memories/{v.MemoryId}")),
        ["GET /memories/{id}/history"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/memories/{v.MemoryId}/history")),
        ["PUT /memories/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Put, $"/memories/{v.MemoryId}",
            new { content = "overwritten by B", reason = "attack" })),
        ["DELETE /memories/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Delete, $"/memories/{v.MemoryId}?reason=attack")),
        ["POST /memories/{id}/reinforce"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/memories/{v.MemoryId}/reinforce",
            new { weight = 1.0, reason = "attack" })),
        // A subject is a name inside a tenant: B forgetting "alice" forgets B's alice, never A's.
        ["DELETE /subjects/{subject}"] = new(Decision.OwnTenant, _ => One(HttpMethod.Delete, "/subjects/alice"),
            [HttpStatusCode.OK, HttpStatusCode.NotFound]),
        ["POST /recall"] = new(Decision.OwnTenant, v => One(HttpMethod.Post, "/recall", new { query = v.Marker, subject = "alice" })),
        ["POST /memories/list"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/memories/list", new { subject = "alice" })),
        ["GET /recall/shadow"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/recall/shadow")),
        ["POST /memories/archive"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/memories/archive", new { subject = "alice", olderThanDays = 1 })),
        ["POST /memories/consolidate"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/memories/consolidate", new { subject = "alice" })),
        ["GET /memories/consolidate/{jobId}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/memories/consolidate/{v.JobId}")),
        ["GET /admin/jobs/{jobId}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/admin/jobs/{v.JobId}")),

        ["POST /admin/keys"] = new(Decision.NamesAnotherTenant, v =>
        [
            Req(HttpMethod.Post, "/admin/keys", new { name = "stolen", tenant = v.Key.Tenant, scopes = new[] { "memory:read" } }),
            Req(HttpMethod.Post, "/admin/keys", new { name = "stolen", tenant = v.Key.Tenant, scopes = new[] { "admin" } }),
        ], [HttpStatusCode.Forbidden]),
        ["DELETE /admin/keys/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Delete, $"/admin/keys/{v.OtherKey.KeyId}")),
        ["GET /admin/status"] = new(Decision.OperatorOnly, _ => One(HttpMethod.Get, "/admin/status")),
        ["GET /admin/projections"] = new(Decision.OperatorOnly, _ => One(HttpMethod.Get, "/admin/projections")),
        ["GET /admin/cluster"] = new(Decision.OperatorOnly, _ => One(HttpMethod.Get, "/admin/cluster")),
        ["POST /admin/projections/{name}/rebuild"] = new(Decision.OperatorOnly, _ =>
        [
            Req(HttpMethod.Post, "/admin/projections/RecallEntry/rebuild", new { }),
            Req(HttpMethod.Post, "/admin/projections/RecallEntry/rebuild", new { asOfSequence = 1, targetSchema = "stolen" }),
        ]),

        ["GET /homeostasis"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/homeostasis")),
        ["PUT /homeostasis/setpoints/{vital}"] = new(Decision.OperatorOnly, _ => One(HttpMethod.Put, "/homeostasis/setpoints/recall.p95",
            new { min = 0, max = 1 })),

        ["GET /audit"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/audit?limit=1000")),
        // Before the first checkpoint (a fresh store) both answer 404 for everyone alike.
        ["GET /audit/checkpoint"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/audit/checkpoint"), [HttpStatusCode.OK, HttpStatusCode.NotFound]),
        ["GET /audit/public-key"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/audit/public-key")),
        ["GET /audit/proof/inclusion"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/audit/proof/inclusion?sequence={v.MemorySequence}")),
        ["GET /audit/proof/consistency"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/audit/proof/consistency?from=1"),
            [HttpStatusCode.OK, HttpStatusCode.NotFound]),
        // The whole log's hashes and counts (API.md: admin); it names no tenant's content.
        ["POST /audit/verify"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/audit/verify")),

        ["GET /events"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/events?limit=1000")),
        ["GET /events/stream"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/events/stream?after=0")),

        ["POST /decisions"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/decisions", DecisionSupport.Proposal(0.1))),
        ["GET /decisions"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/decisions")),
        ["GET /decisions/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/decisions/{v.DecisionId}")),
        ["POST /decisions/{id}/approve"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/decisions/{v.DecisionId}/approve", new { note = "B" })),
        ["POST /decisions/{id}/reject"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/decisions/{v.DecisionId}/reject", new { note = "B" })),
        ["POST /decisions/{id}/outcome"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/decisions/{v.DecisionId}/outcome",
            new { success = false, note = "B" })),
        ["GET /learning/{agent}"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/learning/concierge"), [HttpStatusCode.OK, HttpStatusCode.NotFound]),

        // B cannot register A's plugin on the strength of A's trust: its own trust store does not hold A's publisher.
        ["POST /plugins"] = new(Decision.OwnTenant, v =>
            [
                new HttpRequestMessage(HttpMethod.Post, "/plugins")
                {
                    Content = new StringContent(v.Publisher.Body(PluginTestSupport.Manifest(v.PluginId, "http://127.0.0.1:9/run", v.PublisherKeyId, "2.0.0"))
                        .ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
                },
            ], [HttpStatusCode.UnprocessableEntity]),
        ["GET /plugins"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/plugins")),
        ["GET /plugins/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/plugins/{v.PluginId}")),
        ["POST /plugins/{id}/enable"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/plugins/{v.PluginId}/enable")),
        ["POST /plugins/{id}/disable"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/plugins/{v.PluginId}/disable", new { reason = "B" })),
        ["POST /plugins/{id}/retire"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/plugins/{v.PluginId}/retire", new { reason = "B" })),
        ["POST /plugins/{id}/invoke"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/plugins/{v.PluginId}/invoke",
            new { capability = "echo", input = new { text = "hi" } })),
        ["POST /trust/publishers"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/trust/publishers",
            new { name = "B's own publisher", publicKey = Publisher.New().PublicKeyBase64 })),
        ["GET /trust/publishers"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/trust/publishers")),
        ["DELETE /trust/publishers/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Delete, $"/trust/publishers/{v.PublisherKeyId}")),
        // The hub: B's catalogue is B's plugins; sources, their offers and imports are the tenant's own.
        ["GET /hub/catalogue"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/hub/catalogue")),
        ["POST /hub/sources"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/hub/sources",
            new { name = "B's own source", url = "http://127.0.0.1:9/hub/catalogue", publicKey = Publisher.New().PublicKeyBase64 })),
        ["GET /hub/sources"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/hub/sources")),
        ["GET /hub/sources/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/hub/sources/{v.HubSourceId}")),
        ["POST /hub/sources/{id}/sync"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/hub/sources/{v.HubSourceId}/sync")),
        ["POST /hub/sources/{id}/plugins/{pluginId}/import"] = new(Decision.NamesAnotherTenant, v =>
            One(HttpMethod.Post, $"/hub/sources/{v.HubSourceId}/plugins/{v.PluginId}/import")),

        // MCP tools run the same use cases as the routes above, as the key's tenant (McpHttpTests covers each tool's tenancy).
        ["POST /mcp/"] = new(Decision.OwnTenant, v =>
        [
            new HttpRequestMessage(HttpMethod.Post, "/mcp")
            {
                Content = JsonContent.Create(new { jsonrpc = "2.0", id = 1, method = "tools/call",
                    @params = new { name = "get_memory", arguments = new { id = v.MemoryId } } }),
                Headers = { { "Accept", "application/json, text/event-stream" } },
            },
        ]),
        ["GET /whoami"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/whoami")),
        ["GET /console"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/console")),
        ["GET /console/{*file}"] = new(Decision.Anonymous, _ => One(HttpMethod.Get, "/console/app.js"), [HttpStatusCode.OK, HttpStatusCode.NotFound]),
        ["GET /homeostasis/vitals/{name}/history"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/homeostasis/vitals/recall.p95/history"),
            [HttpStatusCode.OK, HttpStatusCode.NotFound]),
        ["GET /admin/projections/dead-letters"] = new(Decision.OperatorOnly, _ => One(HttpMethod.Get, "/admin/projections/dead-letters")),
        ["POST /admin/projections/dead-letters/{id}/retry"] = new(Decision.OperatorOnly, _ =>
            One(HttpMethod.Post, $"/admin/projections/dead-letters/{Guid.NewGuid()}/retry")),
        ["POST /admin/projections/dead-letters/{id}/skip"] = new(Decision.OperatorOnly, _ =>
            One(HttpMethod.Post, $"/admin/projections/dead-letters/{Guid.NewGuid()}/skip")),
        ["POST /subjects/forget"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/subjects/forget", new { subject = "alice" }),
            [HttpStatusCode.OK, HttpStatusCode.NotFound]),

        ["GET /admin/ai/providers"] = new(Decision.OperatorOnly, _ => One(HttpMethod.Get, "/admin/ai/providers")),
        ["PUT /admin/ai/providers"] = new(Decision.OperatorOnly, _ => One(HttpMethod.Put, "/admin/ai/providers", new { providers = Array.Empty<object>() })),
        ["GET /ai/usage"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/ai/usage")),
        ["POST /conversations"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/conversations", new { subject = "alice", agent = "concierge" })),
        ["GET /conversations"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/conversations?subject=alice")),
        ["GET /conversations/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/conversations/{v.ConversationId}")),
        ["POST /conversations/{id}/turns"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/conversations/{v.ConversationId}/turns",
            new { role = "user", content = "B speaks in A's conversation" })),
        ["POST /conversations/{id}/reply"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/conversations/{v.ConversationId}/reply",
            new { message = "what does alice like?" })),
        ["POST /conversations/{id}/close"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/conversations/{v.ConversationId}/close")),
        ["GET /conversations/{id}/turns/{turn}/stream"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/conversations/{v.ConversationId}/turns/1/stream")),

        // An agent is a name inside a tenant: B naming A's agent reads or registers B's own, never A's.
        ["POST /agents"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/agents", new { name = "b-agent-" + Guid.NewGuid().ToString("N")[..8] })),
        ["GET /agents/{name}"] = new(Decision.OwnTenant, v => One(HttpMethod.Get, $"/agents/{v.AgentName}"), [HttpStatusCode.OK, HttpStatusCode.NotFound]),
        ["POST /agents/{name}/suspend"] = new(Decision.OwnTenant, v => One(HttpMethod.Post, $"/agents/{v.AgentName}/suspend", new { reason = "B" }),
            [HttpStatusCode.NotFound]),
        ["POST /agents/{name}/resume"] = new(Decision.OwnTenant, v => One(HttpMethod.Post, $"/agents/{v.AgentName}/resume", new { }),
            [HttpStatusCode.NotFound]),
        ["POST /tasks"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/tasks", new { title = "B's own task" })),
        ["GET /tasks"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/tasks")),
        // B's claim takes B's own task (created just before), never A's.
        ["POST /tasks/claim"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/tasks/claim", new { agent = "b-worker" }),
            [HttpStatusCode.OK, HttpStatusCode.NoContent]),
        ["GET /tasks/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/tasks/{v.TaskId}")),
        ["POST /tasks/{id}/heartbeat"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/tasks/{v.TaskId}/heartbeat", new { })),
        ["POST /tasks/{id}/complete"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/tasks/{v.TaskId}/complete", new { })),
        ["POST /tasks/{id}/fail"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/tasks/{v.TaskId}/fail", new { error = "B" })),
        ["POST /tasks/{id}/cancel"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/tasks/{v.TaskId}/cancel", new { })),
        ["POST /changes"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/changes", ChangeBody("B's own change"))),
        ["GET /changes"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/changes")),
        ["POST /exports"] = new(Decision.OwnTenant, _ => One(HttpMethod.Post, "/exports", new { datasets = new[] { "memories" } })),
        ["GET /exports/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/exports/{v.ExportId}")),
        ["GET /exports/{id}/files/{name}"] = new(Decision.NamesAnotherTenant, v =>
            [Req(HttpMethod.Get, $"/exports/{v.ExportId}/files/memories.jsonl"), Req(HttpMethod.Get, $"/exports/{v.ExportId}/files/manifest.json")]),
        ["GET /changes/{id}"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Get, $"/changes/{v.ChangeId}")),
        ["POST /changes/{id}/stages"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/changes/{v.ChangeId}/stages",
            new { stage = "test", passed = true, evidence = "ok", runnerKeyId = v.PublisherKeyId, signature = Convert.ToBase64String(new byte[64]) })),
        ["POST /changes/{id}/ship"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/changes/{v.ChangeId}/ship", new { })),
        ["POST /changes/{id}/rollback"] = new(Decision.NamesAnotherTenant, v => One(HttpMethod.Post, $"/changes/{v.ChangeId}/rollback", new { reason = "B" })),
        // A's publisher key is not B's to sign with: refused (422) in B's tenant. Reaching A's real script and run is
        // Scripts/ScriptTests.another_tenants_script_and_runs_are_not_found; here the id routes are called with unknown ids.
        ["POST /scripts"] = new(Decision.OwnTenant, v => One(HttpMethod.Post, "/scripts", new
        {
            name = "b-own", source = "budget 1 steps 1 seconds\n", publisherKeyId = v.PublisherKeyId, signature = Convert.ToBase64String(new byte[64]),
        }), [HttpStatusCode.UnprocessableEntity]),
        ["GET /scripts/{id}"] = new(Decision.NamesAnotherTenant, _ => One(HttpMethod.Get, $"/scripts/{Guid.CreateVersion7()}")),
        ["GET /scripts/{id}/runs"] = new(Decision.NamesAnotherTenant, _ => One(HttpMethod.Get, $"/scripts/{Guid.CreateVersion7()}/runs")),
        ["POST /scripts/{id}/run"] = new(Decision.NamesAnotherTenant, _ => One(HttpMethod.Post, $"/scripts/{Guid.CreateVersion7()}/run", new { })),
        ["POST /scripts/{id}/retire"] = new(Decision.NamesAnotherTenant, _ => One(HttpMethod.Post, $"/scripts/{Guid.CreateVersion7()}/retire")),
        // The self-model: the snapshot is the operator's; B reads only its own tenant's part (Selfmodel/SelfModelTests).
        ["POST /self/snapshot"] = new(Decision.OperatorOnly, _ => One(HttpMethod.Post, "/self/snapshot", new { })),
        ["GET /self"] = new(Decision.OwnTenant, _ => One(HttpMethod.Get, "/self"), [HttpStatusCode.OK, HttpStatusCode.NotFound]),
        ["GET /scripts/runs/{runId}"] = new(Decision.NamesAnotherTenant, _ => One(HttpMethod.Get, $"/scripts/runs/{Guid.CreateVersion7()}")),
    };

    private static object ChangeBody(string title) => new
    {
        title, repository = "example/repo", baseRevision = "abc123", plan = "change one line", agent = "coder",
        patch = "--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-a\n+b\n",
    };

    /// <summary>Every route the server maps, as "METHOD pattern".</summary>
    private IReadOnlyList<string> MappedRoutes() =>
        fx.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} /{e.RoutePattern.RawText!.TrimStart('/')}"))
            .Distinct().Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void every_route_has_an_isolation_decision()
    {
        var mapped = MappedRoutes();
        var undecided = mapped.Where(r => !Routes.ContainsKey(r)).ToList();
        var gone = Routes.Keys.Where(r => !mapped.Contains(r)).ToList();
        Assert.True(undecided.Count == 0 && gone.Count == 0,
            "Routes without a tenant-isolation decision in TenantAdminIsolationTests.Routes: " + string.Join(", ", undecided)
            + "; decisions for routes the server no longer maps: " + string.Join(", ", gone));
    }

    [Fact]
    public async Task a_tenant_administrator_reaches_nothing_of_another_tenant_on_any_route()
    {
        var victim = await VictimAsync();
        var b = await fx.NewTenantAsync("admin");
        var clientB = fx.Client(b.Key);
        var failures = new List<string>();

        // What B lists or does in its own tenant first: B's own audit and events later name the ids B tried.
        foreach (var route in MappedRoutes().OrderBy(r => Routes[r].Decision is Decision.Anonymous or Decision.OwnTenant ? 0 : 1))
        {
            var @case = Routes[route];
            foreach (var request in @case.Requests(victim))
            {
                var path = request.RequestUri!.ToString();
                // An answer may repeat what B itself sent (a refused manifest names its publisher key): only the rest counts.
                var sent = path + (request.Content is null ? "" : await request.Content.ReadAsStringAsync());
                var client = @case.Decision == Decision.Anonymous ? fx.Client() : clientB;
                var (status, body) = await SendAsync(client, request);
                var expected = @case.Expected ?? @case.Decision switch
                {
                    Decision.OperatorOnly => [HttpStatusCode.Forbidden],
                    Decision.NamesAnotherTenant => [HttpStatusCode.NotFound],
                    _ => Answered,
                };
                if (!expected.Contains(status)) failures.Add($"{route} ({request.Method} {path}): {(int)status}, wanted {string.Join('/', expected.Cast<int>())}: {Cut(body)}");
                // The 404's instance repeats the path, which holds A's id: only what the answer adds counts.
                var added = body.Replace(path.Split('?')[0], "", StringComparison.Ordinal);
                foreach (var secret in Secrets(victim).Where(x => !sent.Contains(x, StringComparison.Ordinal)))
                    if (added.Contains(secret, StringComparison.Ordinal)) failures.Add($"{route} ({path}) shows A's '{secret}': {Cut(body)}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        await AssertUnchangedAsync(victim);
    }

    private static IEnumerable<string> Secrets(Victim v) =>
        [v.Key.Tenant, v.Marker, v.MemoryId.ToString(), v.DecisionId.ToString(), v.PluginId, v.PublisherKeyId, v.JobId.ToString(), v.OtherKey.KeyId.ToString(),
            v.ConversationId.ToString(), v.TaskId.ToString(), v.ChangeId.ToString(), v.HubSourceId.ToString()];

    private static string Cut(string s) => s.Length > 300 ? s[..300] + "…" : s;

    private static async Task<(HttpStatusCode, string)> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        if (request.RequestUri!.ToString().StartsWith("/events/stream", StringComparison.Ordinal))
        {
            // The live feed never ends: what it sends in its first moments (the history after 0, B's only) is read.
            using var window = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var text = new System.Text.StringBuilder();
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(window.Token);
                var buffer = new byte[8192];
                int read;
                while ((read = await stream.ReadAsync(buffer, window.Token)) > 0) text.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
            }
            catch (OperationCanceledException) { }
            return (response.StatusCode, text.ToString());
        }
        var answer = await client.SendAsync(request);
        return (answer.StatusCode, await answer.Content.ReadAsStringAsync());
    }

    /// <summary>Tenant A with one of everything: a memory, a decision, a trusted publisher and an enabled plugin, a job, a second key.</summary>
    private async Task<Victim> VictimAsync()
    {
        var a = await fx.NewTenantAsync("admin");
        var client = fx.Client(a.Key);
        var marker = "secret-of-A-" + Guid.NewGuid().ToString("N")[..12];
        var (memoryId, sequence) = await client.RecordAsync(Api.Memory(marker));
        var decision = await client.ProposeAsync(DecisionSupport.Proposal(0.1));
        var publisher = Publisher.New();
        await client.TrustAsync(publisher);
        var pluginId = PluginTestSupport.NewPluginId();
        await client.RegisterAsync(publisher.Body(PluginTestSupport.Manifest(pluginId, "http://127.0.0.1:9/run", publisher.KeyId)));
        Assert.Equal(HttpStatusCode.OK, (await client.MoveAsync(pluginId, "enable")).StatusCode);
        var job = await client.PostAsJsonAsync("/memories/consolidate", new { subject = "alice" });
        Assert.Equal(HttpStatusCode.Accepted, job.StatusCode);
        var other = await fx.NewKeyAsync(a.Tenant, "memory:read");
        var conversation = await client.PostAsJsonAsync("/conversations", new { subject = "alice", agent = "concierge", title = marker });
        Assert.Equal(HttpStatusCode.Created, conversation.StatusCode);
        var task = await client.PostAsJsonAsync("/tasks", new { title = marker });
        Assert.Equal(HttpStatusCode.Created, task.StatusCode);
        var change = await client.PostAsJsonAsync("/changes", ChangeBody(marker));
        Assert.Equal(HttpStatusCode.Created, change.StatusCode);
        var agent = "agent-" + Guid.NewGuid().ToString("N")[..12];
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/agents", new { name = agent })).StatusCode);
        // An export is taken as of what the Merkle log covers: on a server just started it may cover nothing yet (422).
        await fx.WaitForProjectionAsync(Aetherra.Application.Audit.Log.AuditLogProjection.Name, sequence);
        var export = await client.PostAsJsonAsync("/exports", new { datasets = new[] { "memories" } });
        Assert.Equal(HttpStatusCode.Accepted, export.StatusCode);
        var source = await client.PostAsJsonAsync("/hub/sources",
            new { name = marker, url = "http://127.0.0.1:9/hub/catalogue", publicKey = Publisher.New().PublicKeyBase64 });
        Assert.Equal(HttpStatusCode.Created, source.StatusCode);
        return new Victim(a, marker, memoryId, sequence, decision.Id(), decision.Str("status"), pluginId, publisher, publisher.KeyId,
            (await job.Json()).GetProperty("jobId").GetGuid(), other, (await conversation.Json()).Id(), (await task.Json()).Id(),
            (await change.Json()).Id(), agent, (await export.Json()).Id(), (await source.Json()).Id());
    }

    private async Task AssertUnchangedAsync(Victim v)
    {
        var client = fx.Client(v.Key.Key);
        var memory = await (await client.GetAsync($"/memories/{v.MemoryId}")).Json();
        Assert.Equal(v.Marker, memory.GetProperty("content").GetString());
        Assert.Equal("active", memory.GetProperty("status").GetString());
        Assert.Equal(1, memory.GetProperty("version").GetInt32());
        Assert.Equal(v.DecisionStatus, (await client.GetOkAsync($"/decisions/{v.DecisionId}")).Str("status"));
        Assert.Equal("enabled", await client.StatusOfAsync(v.PluginId));
        var hubSource = await client.GetOkAsync($"/hub/sources/{v.HubSourceId}");
        Assert.Equal(JsonValueKind.Null, hubSource.GetProperty("syncedAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, hubSource.GetProperty("lastRefusal").ValueKind);
        var trusted = await (await client.GetAsync("/trust/publishers")).Json();
        Assert.Contains(trusted.GetProperty("items").EnumerateArray(), p => p.GetProperty("keyId").GetString() == v.PublisherKeyId
            && p.GetProperty("status").GetString() == "trusted");
        Assert.Equal(HttpStatusCode.OK, (await fx.Client(v.OtherKey.Key).GetAsync($"/memories/{v.MemoryId}")).StatusCode);
        await using var db = fx.OpenDatabase();
        await using var count = new Npgsql.NpgsqlCommand("select count(*) from aetherra.api_keys where tenant_id = $1", db)
        {
            Parameters = { new() { Value = v.Key.Tenant } }
        };
        Assert.Equal(2L, (long)(await count.ExecuteScalarAsync())!);
    }
}

using System.Net.Http.Headers;
using ModelContextProtocol.Protocol;

namespace Aetherra.Integration.Tests.Mcp;

/// <summary>The MCP server at /mcp through the real pipeline, with the SDK's own client.</summary>
public sealed class McpHttpTests(AetherraFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] AllTools =
    [
        "audit_verify", "forget_memory", "forget_subject", "get_memory", "homeostasis_status", "invoke_plugin", "list_pending_decisions",
        "list_plugins", "memory_history", "propose_decision", "recall", "record_outcome", "record_turn", "remember", "reply",
        "revise_memory", "start_conversation"
    ];

    [Fact]
    public async Task a_memory_read_key_sees_only_the_read_tools()
    {
        var reader = await fx.NewTenantAsync("memory:read");
        await using var client = await fx.ConnectAsync(reader.Key);
        var tools = await client.ListToolsAsync(cancellationToken: Ct);
        Assert.Equal(["get_memory", "memory_history", "recall"], tools.Select(t => t.Name).Order());
        Assert.All(tools, t => Assert.True(t.ProtocolTool.Annotations?.ReadOnlyHint));

        // And what it cannot see, it cannot call either.
        var refused = await client.ProblemAsync("remember", new { content = "x", subject = "s", agent = "a", kind = "fact" });
        Assert.Equal(403, refused.GetProperty("status").GetInt32());
        Assert.Contains("memory:write", refused.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task an_admin_key_sees_every_tool_with_schema_descriptions_and_annotations()
    {
        var admin = await fx.NewTenantAsync("admin");
        await using var client = await fx.ConnectAsync(admin.Key);
        var tools = (await client.ListToolsAsync(cancellationToken: Ct)).ToDictionary(t => t.Name, t => t.ProtocolTool);
        Assert.Equal(AllTools, tools.Keys.Order());

        var remember = tools["remember"];
        Assert.False(string.IsNullOrWhiteSpace(remember.Description));
        var properties = remember.InputSchema.GetProperty("properties");
        foreach (var field in new[] { "content", "subject", "agent", "kind", "tags", "importance", "occurredAt", "expiresAt" })
            Assert.False(string.IsNullOrWhiteSpace(properties.GetProperty(field).GetProperty("description").GetString()), field);
        Assert.Equal(["agent", "content", "kind", "subject"],
            remember.InputSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).Order());
        Assert.NotNull(remember.OutputSchema);
        Assert.True(tools["forget_subject"].Annotations!.DestructiveHint);
        Assert.True(tools["forget_memory"].Annotations!.DestructiveHint);
        Assert.True(tools["recall"].Annotations!.ReadOnlyHint);
        Assert.False(tools["remember"].Annotations!.ReadOnlyHint);
        Assert.True(tools["remember"].Annotations!.IdempotentHint);
        Assert.True(tools["invoke_plugin"].Annotations!.OpenWorldHint);
    }

    [Fact]
    public async Task a_remember_through_mcp_is_audited_with_the_key_as_actor_and_readable_over_http()
    {
        var key = await fx.NewTenantAsync();
        await using var client = await fx.ConnectAsync(key.Key);
        var written = await client.OkAsync("remember",
            new { content = "prefers tea over coffee", subject = "user-7", agent = "assistant", kind = "preference", tags = new[] { "drinks" } });
        var id = written.GetProperty("id").GetGuid();
        Assert.False(written.GetProperty("deduplicated").GetBoolean());

        var http = fx.Client(key.Key);
        var memory = await http.GetFromJsonAsync<JsonElement>($"/memories/{id}", Ct);
        Assert.Equal("prefers tea over coffee", memory.GetProperty("content").GetString());

        var audit = await http.GetFromJsonAsync<JsonElement>($"/audit?action=memory.record&stream={id}", Ct);
        var record = Assert.Single(audit.GetProperty("records").EnumerateArray());
        Assert.Equal(key.KeyId.ToString(), record.GetProperty("actor").GetString());
        Assert.Equal("accepted", record.GetProperty("outcome").GetString());
        Assert.Equal(201, record.GetProperty("status").GetInt32());
        Assert.Equal("mcp", record.GetProperty("channel").GetString());

        // The events carry the same actor as over HTTP.
        var history = await client.OkAsync("memory_history", new { id });
        Assert.Equal(key.KeyId.ToString(), history.GetProperty("entries")[0].GetProperty("actor").GetString());

        // Remembering it again is the same memory, as POST /memories answers.
        var again = await client.OkAsync("remember",
            new { content = "prefers tea over coffee", subject = "user-7", agent = "assistant", kind = "preference" });
        Assert.Equal(id, again.GetProperty("id").GetGuid());
        Assert.True(again.GetProperty("deduplicated").GetBoolean());
    }

    [Fact]
    public async Task the_memory_tools_recall_revise_and_forget_as_the_routes_do()
    {
        var key = await fx.NewTenantAsync();
        await using var client = await fx.ConnectAsync(key.Key);
        var written = await client.OkAsync("remember",
            new { content = "the staging database runs on port 6543", subject = "infra", agent = "ops-bot", kind = "fact", importance = 0.9 });
        var id = written.GetProperty("id").GetGuid();
        var second = await client.OkAsync("remember",
            new { content = "the office plant needs water on fridays", subject = "infra", agent = "ops-bot", kind = "fact" });
        var other = second.GetProperty("id").GetGuid();

        var recalled = await client.CallConsistentAsync("recall",
            new { query = "which port does the staging database use", subject = "infra", minSequence = second.GetProperty("sequence").GetInt64() });
        Assert.True(recalled.IsError is not true, McpTestSupport.Text(recalled));
        Assert.Equal(id, recalled.StructuredContent!.Value.GetProperty("results")[0].GetProperty("id").GetGuid());
        Assert.Contains("port 6543", McpTestSupport.Text(recalled));

        var revised = await client.OkAsync("revise_memory",
            new { id, content = "the staging database runs on port 6544", reason = "moved", expectedVersion = 1 });
        Assert.Equal(2, revised.GetProperty("version").GetInt64());
        var conflict = await client.ProblemAsync("revise_memory", new { id, content = "port 1", reason = "stale", expectedVersion = 1 });
        Assert.Equal(409, conflict.GetProperty("status").GetInt32());
        Assert.Equal(2, conflict.GetProperty("currentVersion").GetInt64());

        var read = await client.OkAsync("get_memory", new { id });
        Assert.Equal("the staging database runs on port 6544", read.GetProperty("content").GetString());

        var forgotten = await client.OkAsync("forget_memory", new { id, reason = "decommissioned" });
        Assert.Equal("forgotten", forgotten.GetProperty("status").GetString());
        var history = await client.OkAsync("memory_history", new { id });
        Assert.Equal(3, history.GetProperty("entries").GetArrayLength());

        var subject = await client.OkAsync("forget_subject", new { subject = "infra" });
        Assert.Equal(1, subject.GetProperty("memoriesForgotten").GetInt32());
        Assert.Equal("forgotten", (await client.OkAsync("get_memory", new { id = other })).GetProperty("status").GetString());

        var audit = await fx.Client(key.Key).GetFromJsonAsync<JsonElement>("/audit?limit=100", Ct);
        var actions = audit.GetProperty("records").EnumerateArray()
            .Select(r => (r.GetProperty("action").GetString(), r.GetProperty("status").GetInt32(), r.GetProperty("channel").GetString())).ToList();
        Assert.Equal(
            [("memory.record", 201, "mcp"), ("memory.record", 201, "mcp"), ("memory.revise", 200, "mcp"), ("memory.revise", 409, "mcp"),
             ("memory.forget", 200, "mcp"), ("subject.forget", 200, "mcp")],
            actions);
    }

    [Fact]
    public async Task decisions_plugins_audit_and_homeostasis_answer_through_their_tools()
    {
        var admin = await fx.NewTenantAsync("admin");
        await using var client = await fx.ConnectAsync(admin.Key);
        var memory = await client.OkAsync("remember",
            new { content = "refunds under 20 euros are always accepted", subject = "policy", agent = "support", kind = "instruction" });

        var approved = await client.OkAsync("propose_decision", new
        {
            agent = "support", category = "sandbox", action = "refund 5 euros", confidence = 0.99, rationale = "policy allows it",
            risk = "low", evidence = new[] { new { memoryId = memory.GetProperty("id").GetGuid(), version = 1 } }
        });
        var escalated = await client.OkAsync("propose_decision", new
        {
            agent = "support", category = "refund", action = "refund 900 euros", confidence = 0.2, rationale = "unsure", risk = "high"
        });
        Assert.Equal("escalated", escalated.GetProperty("status").GetString());

        var pending = await client.OkAsync("list_pending_decisions", new { agent = "support" });
        Assert.Contains(pending.GetProperty("items").EnumerateArray(), d => d.GetProperty("id").GetGuid() == escalated.GetProperty("id").GetGuid());
        Assert.DoesNotContain(pending.GetProperty("items").EnumerateArray(), d => d.GetProperty("id").GetGuid() == approved.GetProperty("id").GetGuid());

        if (approved.GetProperty("status").GetString() == "approved")
        {
            var outcome = await client.OkAsync("record_outcome", new { id = approved.GetProperty("id").GetGuid(), success = true, note = "done" });
            Assert.Equal("resolved", outcome.GetProperty("status").GetString());
        }
        var notApproved = await client.ProblemAsync("record_outcome", new { id = escalated.GetProperty("id").GetGuid(), success = true });
        Assert.Equal(422, notApproved.GetProperty("status").GetInt32());

        Assert.Equal(0, (await client.OkAsync("list_plugins", new { })).GetProperty("items").GetArrayLength());
        var missing = await client.ProblemAsync("invoke_plugin", new { id = "nope", capability = "run", input = new { a = 1 } });
        Assert.Equal(404, missing.GetProperty("status").GetInt32());

        var verified = await client.OkAsync("audit_verify", new { });
        Assert.True(verified.GetProperty("ok").GetBoolean(), verified.ToString());
        var health = await client.OkAsync("homeostasis_status", new { });
        Assert.Contains(health.GetProperty("state").GetString(), new[] { "stable", "degraded", "correcting" });

        var audit = await fx.Client(admin.Key).GetFromJsonAsync<JsonElement>("/audit?limit=100", Ct);
        var actions = audit.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("action").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "decision.propose", "decision.outcome", "plugin.invoke", "audit.verify" }, actions);
    }

    [Fact]
    public async Task conversations_start_record_turns_and_reply_through_their_tools_as_over_http()
    {
        var key = await fx.NewTenantAsync("conversations:read", "conversations:write", "memory:read", "memory:write", "audit:read");
        var http = fx.Client(key.Key);
        await using var client = await fx.ConnectAsync(key.Key);
        var tools = (await client.ListToolsAsync(cancellationToken: Ct)).ToDictionary(t => t.Name, t => t.ProtocolTool);
        Assert.False(tools["reply"].Annotations!.ReadOnlyHint);
        Assert.True(tools["reply"].Annotations!.OpenWorldHint);
        Assert.False(tools["start_conversation"].Annotations!.IdempotentHint);
        Assert.False(string.IsNullOrWhiteSpace(tools["record_turn"].InputSchema.GetProperty("properties").GetProperty("role").GetProperty("description").GetString()));
        Assert.NotNull(tools["reply"].OutputSchema);
        var (tea, sequence) = await http.RecordAsync(Api.Memory("Mia drinks rooibos in the evening", subject: "mia"));

        var started = await client.OkAsync("start_conversation", new { subject = "mia", agent = "assistant", extraction = false });
        var id = started.GetProperty("id").GetGuid();
        Assert.Equal(1, (await client.OkAsync("record_turn", new { id, role = "user", content = "Hi, it is Mia" })).GetProperty("turn").GetInt32());
        Assert.Equal(2, (await client.OkAsync("record_turn", new { id, role = "assistant", content = "Hello Mia" })).GetProperty("turn").GetInt32());
        var reply = await client.OkAsync("reply", new { id, message = "What do I drink in the evening?", minSequence = sequence });

        Assert.Equal((4, 3), (reply.GetProperty("turn").GetInt32(), reply.GetProperty("replyTo").GetInt32()));
        Assert.False(reply.GetProperty("generated").GetBoolean());
        Assert.Contains("rooibos", reply.GetProperty("content").GetString());
        var citation = Assert.Single(reply.GetProperty("citations").EnumerateArray());
        Assert.Equal((tea, 1), (citation.GetProperty("memoryId").GetGuid(), citation.GetProperty("version").GetInt32()));
        // The same conversation over HTTP, and each command audited on the mcp channel with the key as actor.
        var conversation = await http.GetFromJsonAsync<JsonElement>($"/conversations/{id}", Ct);
        Assert.Equal(["user", "assistant", "user", "assistant"], conversation.GetProperty("turns").EnumerateArray().Select(t => t.GetProperty("role").GetString()));
        foreach (var action in new[] { "conversation.start", "conversation.record-turn", "conversation.reply" })
            Assert.All(await http.AuditAsync(action), r =>
            {
                Assert.Equal(("mcp", "accepted", key.KeyId.ToString()),
                    (r.GetProperty("channel").GetString(), r.GetProperty("outcome").GetString(), r.GetProperty("actor").GetString()));
            });
        Assert.Equal(2, (await http.AuditAsync("conversation.record-turn")).Length);

        // Bad arguments and another tenant's conversation are refused as over HTTP, and audited.
        Assert.Equal(400, (await client.ProblemAsync("record_turn", new { id, role = "narrator", content = "x" })).GetProperty("status").GetInt32());
        var other = await fx.NewTenantAsync("conversations:write");
        await using var stranger = await fx.ConnectAsync(other.Key);
        Assert.Equal(404, (await stranger.ProblemAsync("reply", new { id, message = "What does Mia drink?" })).GetProperty("status").GetInt32());
        Assert.Equal(404, (await stranger.ProblemAsync("record_turn", new { id, role = "user", content = "hi" })).GetProperty("status").GetInt32());
        Assert.Equal(4, (await http.GetFromJsonAsync<JsonElement>($"/conversations/{id}", Ct)).GetProperty("turns").GetArrayLength());
        // A key that may only read conversations sees none of these tools.
        await using var reader = await fx.ConnectAsync((await fx.NewTenantAsync("conversations:read")).Key);
        Assert.Empty(await reader.ListToolsAsync(cancellationToken: Ct));
    }

    [Fact]
    public async Task another_tenants_memory_is_not_found()
    {
        var owner = await fx.NewTenantAsync();
        var stranger = await fx.NewTenantAsync();
        await using var mine = await fx.ConnectAsync(owner.Key);
        await using var theirs = await fx.ConnectAsync(stranger.Key);
        var id = (await mine.OkAsync("remember", new { content = "my secret", subject = "me", agent = "a", kind = "fact" })).GetProperty("id").GetGuid();

        foreach (var (tool, args) in new (string, object)[]
                 {
                     ("get_memory", new { id }), ("memory_history", new { id }), ("forget_memory", new { id }),
                     ("revise_memory", new { id, content = "mine now", reason = "theft" })
                 })
        {
            var problem = await theirs.ProblemAsync(tool, args);
            Assert.Equal(404, problem.GetProperty("status").GetInt32());
            Assert.Equal("Not found", problem.GetProperty("title").GetString());
        }
        var recalled = await theirs.OkAsync("recall", new { query = "secret" });
        Assert.Equal(0, recalled.GetProperty("results").GetArrayLength());
        Assert.Equal("my secret", (await mine.OkAsync("get_memory", new { id })).GetProperty("content").GetString());

        // The stranger's refused forget is in the stranger's audit, as a 404.
        var audit = await fx.Client(stranger.Key).GetFromJsonAsync<JsonElement>("/audit?action=memory.forget", Ct);
        var record = Assert.Single(audit.GetProperty("records").EnumerateArray());
        Assert.Equal(404, record.GetProperty("status").GetInt32());
        Assert.Equal("rejected", record.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task bad_arguments_are_error_results_that_change_nothing_and_the_session_goes_on()
    {
        var key = await fx.NewTenantAsync();
        await using var client = await fx.ConnectAsync(key.Key);

        var invalid = await client.ProblemAsync("remember", new { content = "x", subject = "s", agent = "a", kind = "gossip" });
        Assert.Equal(400, invalid.GetProperty("status").GetInt32());
        Assert.True(invalid.GetProperty("errors").TryGetProperty("kind", out _));

        var nul = await client.ProblemAsync("remember", new { content = "a\u0000b", subject = "s", agent = "a", kind = "fact" });
        Assert.Equal(400, nul.GetProperty("status").GetInt32());
        Assert.Contains("NUL", nul.GetProperty("detail").GetString());

        var huge = await client.ProblemAsync("remember", new { content = new string('x', 600_000), subject = "s", agent = "a", kind = "fact" });
        Assert.Equal(413, huge.GetProperty("status").GetInt32());

        var notAnId = await client.ProblemAsync("get_memory", new { id = "not-a-guid" });
        Assert.Equal(400, notAnId.GetProperty("status").GetInt32());
        var missing = await client.ProblemAsync("remember", new { content = "no subject" });
        Assert.Equal(400, missing.GetProperty("status").GetInt32());
        var blankSubject = await client.ProblemAsync("forget_subject", new { subject = " " });
        Assert.Equal(400, blankSubject.GetProperty("status").GetInt32());

        // Nothing was recorded, every refused command is audited, and the session still works.
        var recalled = await client.OkAsync("recall", new { query = "x" });
        Assert.Equal(0, recalled.GetProperty("results").GetArrayLength());
        var audit = await fx.Client(key.Key).GetFromJsonAsync<JsonElement>("/audit?action=memory.record", Ct);
        var records = audit.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(4, records.Count);
        Assert.All(records, r => Assert.Equal("rejected", r.GetProperty("outcome").GetString()));
        Assert.Equal([400, 400, 413, 400], records.Select(r => r.GetProperty("status").GetInt32()));
        Assert.StartsWith("validation failed: kind", records[0].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task memories_are_resources_and_recall_context_is_a_prompt_of_memory_read_keys()
    {
        var key = await fx.NewTenantAsync();
        await using var client = await fx.ConnectAsync(key.Key);
        var written = await client.OkAsync("remember",
            new { content = "speaks Portuguese and English", subject = "customer 9", agent = "crm", kind = "fact" });
        var id = written.GetProperty("id").GetGuid();

        var templates = await client.ListResourceTemplatesAsync(cancellationToken: Ct);
        Assert.Equal(["aetherra://memories/{id}", "aetherra://subjects/{subject}/memories"], templates.Select(t => t.UriTemplate).Order());

        var one = await client.ReadResourceAsync($"aetherra://memories/{id}", cancellationToken: Ct);
        var memory = JsonDocument.Parse(Assert.IsType<TextResourceContents>(Assert.Single(one.Contents)).Text).RootElement;
        Assert.Equal("speaks Portuguese and English", memory.GetProperty("content").GetString());
        var subject = await client.ReadResourceAsync("aetherra://subjects/customer%209/memories", cancellationToken: Ct);
        var items = JsonDocument.Parse(Assert.IsType<TextResourceContents>(Assert.Single(subject.Contents)).Text).RootElement.GetProperty("items");
        Assert.Equal(id, Assert.Single(items.EnumerateArray()).GetProperty("id").GetGuid());

        // Another tenant's memory is not found as a resource either.
        await using var stranger = await fx.ConnectAsync((await fx.NewTenantAsync()).Key);
        var missing = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() =>
            stranger.ReadResourceAsync($"aetherra://memories/{id}", cancellationToken: Ct).AsTask());
        Assert.Contains("Not found", missing.Message);

        Assert.Equal("recall-context", Assert.Single(await client.ListPromptsAsync(cancellationToken: Ct)).Name);
        await fx.WaitForProjectionAsync(Aetherra.Application.Recall.RecallProjection.Name, written.GetProperty("sequence").GetInt64());
        var prompt = await client.GetPromptAsync("recall-context",
            new Dictionary<string, object?> { ["question"] = "which languages does the customer speak", ["subject"] = "customer 9" },
            cancellationToken: Ct);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(prompt.Messages).Content).Text;
        Assert.Contains($"[{id}]", text);
        Assert.Contains("speaks Portuguese and English", text);

        // A key without memory:read sees neither.
        await using var writer = await fx.ConnectAsync((await fx.NewTenantAsync("decisions:read")).Key);
        Assert.Empty(await writer.ListResourceTemplatesAsync(cancellationToken: Ct));
        Assert.Empty(await writer.ListPromptsAsync(cancellationToken: Ct));
    }

    [Fact]
    public async Task mcp_without_a_key_is_unauthorized()
    {
        var http = fx.Client();
        var response = await http.PostAsync("/mcp", new StringContent(
            """{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", new MediaTypeHeaderValue("application/json")), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

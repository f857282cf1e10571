using System.Text;

namespace Aetherra.Integration.Tests;

/// <summary>
/// Issue 13: input that PostgreSQL cannot store, numbers JSON cannot carry and ids that name nothing are
/// refused at the edge, for every route (one check: Api/Http/InputGuard.cs), as 4xx problems and never 500s.
/// </summary>
public sealed class InputHardeningTests(AetherraFixture fx)
{
    private const string Nul = "\\u0000";

    /// <summary>The loopback server without the embedding model: nothing here recalls, and it starts much faster.</summary>
    private static readonly Dictionary<string, string> NoEmbeddings = new() { ["AETHERRA_EMBEDDINGS"] = "off" };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"no error for '{field}' in {text}");
    }

    private static string Memory(string field, string value)
    {
        var memory = new Dictionary<string, object?>
        {
            ["content"] = "Nina owns a cat", ["subject"] = "nina", ["agent"] = "assistant", ["kind"] = "fact",
            ["session"] = "s1", ["source"] = "chat", ["tags"] = new[] { "pets" },
        };
        var placeholder = "__VALUE__";
        if (field == "tags[0]") memory["tags"] = new[] { placeholder };
        else memory[field] = placeholder;
        return JsonSerializer.Serialize(memory).Replace(placeholder, value, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("content")]
    [InlineData("subject")]
    [InlineData("agent")]
    [InlineData("session")]
    [InlineData("source")]
    [InlineData("tags[0]")]
    public async Task a_nul_in_any_field_of_a_memory_is_refused_naming_the_field(string field)
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        await AssertRefusedAsync(await client.PostAsync("/memories", Json(Memory(field, $"bad{Nul}value"))), field);
        var batch = $"{{\"memories\":[{Memory("content", "fine")},{Memory(field, $"bad{Nul}value")}]}}";
        await AssertRefusedAsync(await client.PostAsync("/memories/batch", Json(batch)), $"memories[1].{field}");
    }

    [Fact]
    public async Task an_unpaired_surrogate_in_content_is_refused()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var response = await client.PostAsync("/memories", Json(Memory("content", "half \\ud800 a pair")));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task a_nul_in_revise_reinforce_forget_and_recall_fields_is_refused()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Olga likes tea", subject: "olga"));

        await AssertRefusedAsync(await client.PutAsync($"/memories/{id}", Json($"{{\"content\":\"tea{Nul}\"}}")), "content");
        await AssertRefusedAsync(await client.PutAsync($"/memories/{id}", Json($"{{\"content\":\"tea\",\"reason\":\"r{Nul}\"}}")), "reason");
        await AssertRefusedAsync(await client.PostAsync($"/memories/{id}/reinforce", Json($"{{\"reason\":\"r{Nul}\"}}")), "reason");
        await AssertRefusedAsync(await client.DeleteAsync($"/memories/{id}?reason=a%00b"), "reason");
        await AssertRefusedAsync(await client.PostAsync("/recall", Json($"{{\"query\":\"tea{Nul}\"}}")), "query");
        await AssertRefusedAsync(await client.PostAsync("/recall", Json($"{{\"query\":\"tea\",\"subject\":\"o{Nul}\"}}")), "subject");
        await AssertRefusedAsync(await client.PostAsync("/recall", Json($"{{\"query\":\"tea\",\"tags\":[\"t{Nul}\"]}}")), "tags[0]");
        await AssertRefusedAsync(await client.PostAsync("/subjects/forget", Json($"{{\"subject\":\"ol{Nul}ga\"}}")), "subject");
        await AssertRefusedAsync(await client.GetAsync("/audit?action=memory.record%00"), "action");

        Assert.Equal("Olga likes tea", (await client.ReadMemoryAsync(id)).GetProperty("content").GetString());
    }

    [Fact]
    public async Task a_nul_in_decision_fields_and_review_notes_is_refused()
    {
        var client = fx.Client((await fx.NewTenantAsync("decisions:read", "decisions:write", "decisions:approve")).Key);
        string Decision(string field, string value)
        {
            var d = new Dictionary<string, object?>
            {
                ["agent"] = "planner", ["category"] = "ops", ["action"] = "restart", ["rationale"] = "it hangs",
                ["confidence"] = 0.2, ["risk"] = "high", ["subject"] = "svc",
            };
            d[field] = "__VALUE__";
            return JsonSerializer.Serialize(d).Replace("__VALUE__", value, StringComparison.Ordinal);
        }
        foreach (var field in new[] { "agent", "category", "action", "rationale", "subject" })
            await AssertRefusedAsync(await client.PostAsync("/decisions", Json(Decision(field, $"x{Nul}"))), field);

        var proposed = await client.PostAsync("/decisions", Json(Decision("action", "restart")));
        Assert.True(proposed.IsSuccessStatusCode, await proposed.Content.ReadAsStringAsync());
        var id = (await proposed.Json()).GetProperty("id").GetGuid();
        await AssertRefusedAsync(await client.PostAsync($"/decisions/{id}/approve", Json($"{{\"note\":\"ok{Nul}\"}}")), "note");
        await AssertRefusedAsync(await client.PostAsync($"/decisions/{id}/reject", Json($"{{\"note\":\"no{Nul}\"}}")), "note");
        await AssertRefusedAsync(await client.PostAsync($"/decisions/{id}/outcome", Json($"{{\"success\":true,\"note\":\"n{Nul}\"}}")), "note");
    }

    [Fact]
    public async Task a_nul_in_key_and_publisher_names_is_refused()
    {
        var admin = fx.Client(fx.AdminKey);
        await AssertRefusedAsync(await admin.PostAsync("/admin/keys",
            Json($"{{\"name\":\"k{Nul}\",\"tenant\":\"t-x\",\"scopes\":[\"memory:read\"]}}")), "name");
        await AssertRefusedAsync(await admin.PostAsync("/admin/keys",
            Json($"{{\"name\":\"k\",\"tenant\":\"t{Nul}\",\"scopes\":[\"memory:read\"]}}")), "tenant");
        await AssertRefusedAsync(await admin.PostAsync("/trust/publishers",
            Json($"{{\"name\":\"p{Nul}\",\"publicKey\":\"AAAA\"}}")), "name");
        await AssertRefusedAsync(await admin.PostAsync("/plugins",
            Json($"{{\"manifest\":{{\"id\":\"com.example.x{Nul}\"}},\"signature\":\"AAAA\"}}")), "manifest.id");
    }

    [Theory]
    [InlineData("{\"max\": 1e309}")]
    [InlineData("{\"min\": -1e309}")]
    [InlineData("{\"max\": \"NaN\"}")]
    [InlineData("{\"max\": \"Infinity\"}")]
    public async Task a_non_finite_setpoint_is_refused(string body)
    {
        var response = await fx.Client(fx.AdminKey).PutAsync("/homeostasis/setpoints/http.error-rate", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("{\"weight\": 1e309}")]
    [InlineData("{\"weight\": \"NaN\"}")]
    public async Task a_non_finite_weight_is_refused(string body)
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Pia likes jazz", subject: "pia"));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync($"/memories/{id}/reinforce", Json(body))).StatusCode);
    }

    [Fact]
    public async Task the_all_zero_id_in_a_path_is_not_found()
    {
        var client = fx.Client((await fx.NewTenantAsync("memory:read", "memory:write", "decisions:read", "decisions:write", "decisions:approve")).Key);
        var zero = Guid.Empty;
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/memories/{zero}/reinforce", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"/memories/{zero}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PutAsync($"/memories/{zero}", Json("{\"content\":\"x\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/memories/{zero}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/decisions/{zero}/approve", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/decisions/{zero}/reject", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/decisions/{zero}/outcome", Json("{\"success\":true}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/decisions/{zero}")).StatusCode);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"manifest\": {}}")]
    [InlineData("{\"manifest\": {}, \"signature\": \"\"}")]
    [InlineData("{\"manifest\": \"\", \"signature\": \"AAAA\"}")]
    [InlineData("{\"manifest\": [], \"signature\": \"AAAA\"}")]
    [InlineData("{\"manifest\": {\"capabilities\": []}}")]
    [InlineData("{\"manifest\": {\"capabilities\": [{}]}}")]
    [InlineData("{\"manifest\": {\"capabilities\": null}}")]
    [InlineData("{\"manifest\": \"\\ud800\", \"signature\": \"x\"}")]
    [InlineData("{\"manifest\": {\"id\": \"\\udc00\"}, \"signature\": \"x\"}")]
    public async Task an_empty_plugin_manifest_is_refused(string body)
    {
        var response = await fx.Client(fx.AdminKey).PostAsync("/plugins", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    /// <summary>
    /// On the real server (Kestrel): the in-process test server decodes %2F before routing, which Kestrel does
    /// not, so only a socket shows what a client gets. A NUL in the path never reaches the endpoint there.
    /// </summary>
    [Fact]
    public async Task a_subject_with_a_slash_is_forgotten_by_its_encoded_path_and_by_body()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await fx.StartLoopbackServerAsync(NoEmbeddings, ct);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            await server.NewKeyAsync("slash", "slash-tenant", ["memory:read", "memory:write", "audit:read"], ct));
        var (a, _) = await client.RecordAsync(Api.Memory("Quinn's address", subject: "quinn/home"));
        var (b, _) = await client.RecordAsync(Api.Memory("Rosa's address", subject: "rosa/home%2Fwork"));

        var byPath = await client.DeleteAsync("/subjects/quinn%2Fhome", ct);
        Assert.Equal(HttpStatusCode.OK, byPath.StatusCode);
        Assert.Equal("quinn/home", (await byPath.Json()).GetProperty("subject").GetString());
        Assert.Equal(1, (await byPath.Json()).GetProperty("memoriesForgotten").GetInt32());
        Assert.Equal("forgotten", (await client.ReadMemoryAsync(a)).GetProperty("status").GetString());

        var byBody = await client.PostAsJsonAsync("/subjects/forget", new { subject = "rosa/home%2Fwork" }, ct);
        Assert.Equal(HttpStatusCode.OK, byBody.StatusCode);
        Assert.Equal(1, (await byBody.Json()).GetProperty("memoriesForgotten").GetInt32());
        Assert.Equal("forgotten", (await client.ReadMemoryAsync(b)).GetProperty("status").GetString());
        Assert.Single(await client.AuditAsync("subject.forget-by-body"), r => r.GetProperty("status").GetInt32() == 200);

        Assert.Equal(HttpStatusCode.BadRequest, (await client.DeleteAsync("/subjects/ol%00ga", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/subjects/quinn%2Fhome", ct)).StatusCode);
    }

    [Fact]
    public async Task forgetting_a_subject_that_does_not_exist_is_not_found()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        await client.RecordAsync(Api.Memory("Sam's address", subject: "sam"));

        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/subjects/nobody")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/subjects/forget", new { subject = "nobody" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/subjects/sam")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/subjects/sam")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/subjects/forget", new { subject = "" })).StatusCode);
    }

    [Fact]
    public async Task twenty_concurrent_reinforcements_without_a_version_all_succeed()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Tom likes chess", subject: "tom"));

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            client.PostAsJsonAsync($"/memories/{id}/reinforce", new { weight = 0.5 })));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        var versions = await Task.WhenAll(answers.Select(async a => (await a.Json()).GetProperty("version").GetInt32()));
        Assert.Equal(Enumerable.Range(2, 20), versions.Order());
        Assert.Equal(21, (await client.ReadMemoryAsync(id)).GetProperty("version").GetInt32());
    }
}

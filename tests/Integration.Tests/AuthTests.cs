using System.Net.Http.Headers;

namespace Aetherra.Integration.Tests;

public sealed class AuthTests(AetherraFixture fx)
{
    private static readonly string SomeId = Guid.NewGuid().ToString();

    /// <summary>Every route of API.md implemented so far, with a body that would be valid where one is needed.</summary>
    public static TheoryData<string, string> Routes => new()
    {
        { "POST", "/memories" },
        { "POST", "/memories/batch" },
        { "GET", $"/memories/{SomeId}" },
        { "GET", $"/memories/{SomeId}/history" },
        { "PUT", $"/memories/{SomeId}" },
        { "DELETE", $"/memories/{SomeId}" },
        { "DELETE", "/subjects/alice" },
        { "GET", "/audit" },
        { "POST", "/admin/keys" },
        { "DELETE", $"/admin/keys/{SomeId}" },
    };

    private static object? BodyFor(string method, string path) => (method, path) switch
    {
        ("POST", "/memories") => Api.Memory("Alice likes tea"),
        ("POST", "/memories/batch") => new { memories = new[] { Api.Memory("Alice likes tea") } },
        ("PUT", _) => new { content = "Alice likes coffee", reason = "changed her mind" },
        ("POST", "/admin/keys") => new { name = "k", tenant = "t-auth", scopes = new[] { "memory:read" } },
        _ => null
    };

    private HttpClient Anonymous(string? authorization)
    {
        var client = fx.Client();
        if (authorization is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        return client;
    }

    private static async Task AssertUnauthorized(HttpResponseMessage response)
    {
        await response.AssertProblem(HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Theory, MemberData(nameof(Routes))]
    public async Task a_request_without_a_key_is_401_with_a_bearer_challenge(string method, string path)
    {
        var response = await Anonymous(null).Send(new HttpMethod(method), path, BodyFor(method, path));
        await AssertUnauthorized(response);
    }

    [Theory, MemberData(nameof(Routes))]
    public async Task a_request_with_an_unknown_key_is_401_with_a_bearer_challenge(string method, string path)
    {
        var unknown = "ak_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var response = await Anonymous("Bearer " + unknown).Send(new HttpMethod(method), path, BodyFor(method, path));
        await AssertUnauthorized(response);
    }

    [Theory, MemberData(nameof(Routes))]
    public async Task a_request_with_a_malformed_authorization_header_is_401_with_a_bearer_challenge(string method, string path)
    {
        foreach (var header in new[] { "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-key", fx.AdminKey })
        {
            var response = await Anonymous(header).Send(new HttpMethod(method), path, BodyFor(method, path));
            await AssertUnauthorized(response);
        }
    }

    [Fact]
    public async Task a_read_only_key_cannot_record_a_memory()
    {
        var key = await fx.NewTenantAsync("memory:read");

        var response = await fx.Client(key.Key).PostAsJsonAsync("/memories", Api.Memory("Alice likes tea"));

        var problem = await response.AssertProblem(HttpStatusCode.Forbidden);
        Assert.Contains("memory:write", problem.GetProperty("detail").GetString());
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, "memory.recorded.v1"));
    }

    [Fact]
    public async Task a_write_only_key_cannot_read_a_memory_or_its_history()
    {
        var key = await fx.NewTenantAsync("memory:write");
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Alice likes tea"));

        await (await client.GetAsync($"/memories/{id}")).AssertProblem(HttpStatusCode.Forbidden);
        await (await client.GetAsync($"/memories/{id}/history")).AssertProblem(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task a_key_without_admin_cannot_manage_keys()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write", "audit:read", "events:read");
        var client = fx.Client(key.Key);

        var create = await client.PostAsJsonAsync("/admin/keys", new { name = "x", tenant = key.Tenant, scopes = new[] { "admin" } });
        await create.AssertProblem(HttpStatusCode.Forbidden);
        var revoke = await client.DeleteAsync($"/admin/keys/{key.KeyId}");
        await revoke.AssertProblem(HttpStatusCode.Forbidden);

        // The refused revoke of its own key did not revoke it.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/audit")).StatusCode);
    }

    [Fact]
    public async Task a_key_without_audit_read_cannot_read_the_audit()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write");

        var response = await fx.Client(key.Key).GetAsync("/audit");

        var problem = await response.AssertProblem(HttpStatusCode.Forbidden);
        Assert.Contains("audit:read", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task an_admin_key_holds_every_scope()
    {
        var key = await fx.NewTenantAsync("admin");
        var client = fx.Client(key.Key);

        var (id, sequence) = await client.RecordAsync(Api.Memory("Alice likes tea"));

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/memories/{id}?minSequence={sequence}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/memories/{id}/history")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/audit")).StatusCode);
        var revise = await client.PutAsJsonAsync($"/memories/{id}", new { content = "Alice likes coffee", reason = "changed" });
        Assert.Equal(HttpStatusCode.OK, revise.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/memories/{id}")).StatusCode);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task the_health_probes_answer_without_a_key(string path)
    {
        var response = await fx.Client().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task the_openapi_document_is_open_and_lists_the_memory_routes()
    {
        var response = await fx.Client().GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = (await response.Json()).GetProperty("paths");
        Assert.True(paths.TryGetProperty("/memories", out var memories));
        Assert.True(memories.TryGetProperty("post", out _));
        Assert.True(paths.TryGetProperty("/memories/{id}", out _));
    }

    [Fact]
    public async Task a_bearer_scheme_in_any_case_is_accepted()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("bearer", key.Key);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/audit")).StatusCode);
    }
}

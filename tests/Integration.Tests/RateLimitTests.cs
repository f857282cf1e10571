namespace Aetherra.Integration.Tests;

/// <summary>
/// Issue 13: API.md promised 429 and nothing limited. Token buckets per key (the key's own <c>rateLimit</c> or
/// the configured default) and per tenant, 429 problem with Retry-After, refused commands audited.
/// </summary>
public sealed class RateLimitTests(AetherraFixture fx)
{
    private async Task<(string Tenant, string Key)> LimitedKeyAsync(double permitsPerSecond, int burst)
    {
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..16];
        var response = await fx.Client(fx.AdminKey).PostAsJsonAsync("/admin/keys", new
        {
            name = "limited", tenant, scopes = new[] { "memory:read", "memory:write", "audit:read" },
            rateLimit = new { permitsPerSecond, burst },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Json();
        Assert.Equal(burst, created.GetProperty("rateLimit").GetProperty("burst").GetInt32());
        return (tenant, created.GetProperty("key").GetString()!);
    }

    [Fact]
    public async Task a_key_over_its_own_limit_gets_429_with_retry_after_and_the_refused_command_is_audited_and_changes_nothing()
    {
        var (tenant, key) = await LimitedKeyAsync(0.01, 2);
        var client = fx.Client(key);

        var first = await client.PostAsJsonAsync("/memories", Api.Memory("Alice likes tea"));
        var second = await client.PostAsJsonAsync("/memories", Api.Memory("Alice likes coffee"));
        var third = await client.PostAsJsonAsync("/memories", Api.Memory("Alice likes cocoa"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        var problem = await third.AssertProblem(HttpStatusCode.TooManyRequests);
        Assert.Contains("rate limit", problem.GetProperty("detail").GetString());
        Assert.True(int.Parse(third.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Equal(2, await fx.CountEventsAsync(tenant, "memory.recorded.v1"));

        // Reads are limited too; the audit is read with another key of the tenant (this one is spent).
        await (await client.GetAsync("/audit")).AssertProblem(HttpStatusCode.TooManyRequests);
        var reader = await fx.NewKeyAsync(tenant, "audit:read");
        var records = await fx.Client(reader.Key).AuditAsync("memory.record");
        Assert.Equal([201, 201, 429], records.Select(r => r.GetProperty("status").GetInt32()).ToArray());
        Assert.Equal("rejected", records[2].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task a_limited_key_leaves_other_keys_and_tenants_alone()
    {
        var (tenant, key) = await LimitedKeyAsync(0.01, 1);
        Assert.Equal(HttpStatusCode.Created, (await fx.Client(key).PostAsJsonAsync("/memories", Api.Memory("one"))).StatusCode);
        await (await fx.Client(key).PostAsJsonAsync("/memories", Api.Memory("two"))).AssertProblem(HttpStatusCode.TooManyRequests);

        var sibling = await fx.NewKeyAsync(tenant, "memory:write");
        Assert.Equal(HttpStatusCode.Created, (await fx.Client(sibling.Key).PostAsJsonAsync("/memories", Api.Memory("three"))).StatusCode);
        var stranger = await fx.NewTenantAsync("memory:write");
        Assert.Equal(HttpStatusCode.Created, (await fx.Client(stranger.Key).PostAsJsonAsync("/memories", Api.Memory("four"))).StatusCode);
    }

    [Fact]
    public async Task a_rate_limited_request_releases_its_idempotency_key()
    {
        var (_, key) = await LimitedKeyAsync(0.01, 1);
        var client = fx.Client(key);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/memories", Api.Memory("one"))).StatusCode);
        var idem = "idem-" + Guid.NewGuid();

        var limited = await client.Send(HttpMethod.Post, "/memories", Api.Memory("two"), idem);
        await limited.AssertProblem(HttpStatusCode.TooManyRequests);

        await using var db = fx.OpenDatabase();
        await using var kept = new Npgsql.NpgsqlCommand("select count(*) from aetherra.idempotency where key = $1", db)
        {
            Parameters = { new() { Value = idem } }
        };
        Assert.Equal(0L, (long)(await kept.ExecuteScalarAsync())!);
    }

    public static TheoryData<string, string> InvalidLimits => new()
    {
        { """{"permitsPerSecond":0,"burst":5}""", "rateLimit.permitsPerSecond" },
        { """{"permitsPerSecond":-1,"burst":5}""", "rateLimit.permitsPerSecond" },
        { """{"burst":5}""", "rateLimit.permitsPerSecond" },
        { """{"permitsPerSecond":5,"burst":0}""", "rateLimit.burst" },
        { """{"permitsPerSecond":5}""", "rateLimit.burst" },
        { """{"permitsPerSecond":5000000,"burst":5}""", "rateLimit.permitsPerSecond" },
    };

    [Theory, MemberData(nameof(InvalidLimits))]
    public async Task an_invalid_rate_limit_is_400_naming_the_field(string limit, string field)
    {
        var json = $$"""{"name":"k","tenant":"t-{{Guid.NewGuid():N}}","scopes":["memory:read"],"rateLimit":{{limit}}}""";

        var response = await fx.Client(fx.AdminKey).PostAsync("/admin/keys", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task the_tenant_limit_caps_all_keys_of_a_tenant_together()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await fx.StartLoopbackServerAsync(new Dictionary<string, string>
        {
            ["AETHERRA_RATE_LIMIT_TENANT_PER_SECOND"] = "0.01",
            // The bootstrap key's own tenant issues the three keys below within this burst.
            ["AETHERRA_RATE_LIMIT_TENANT_BURST"] = "4",
        }, ct);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        async Task<HttpStatusCode> WriteAsync(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/memories") { Content = JsonContent.Create(Api.Memory("tenant limit " + Guid.NewGuid())) };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(request, ct);
            return response.StatusCode;
        }
        var one = await server.NewKeyAsync("one", "capped", ["memory:write"], ct);
        var two = await server.NewKeyAsync("two", "capped", ["memory:write"], ct);
        var other = await server.NewKeyAsync("other", "free", ["memory:write"], ct);

        Assert.Equal(HttpStatusCode.Created, await WriteAsync(one));
        Assert.Equal(HttpStatusCode.Created, await WriteAsync(two));
        Assert.Equal(HttpStatusCode.Created, await WriteAsync(one));
        Assert.Equal(HttpStatusCode.Created, await WriteAsync(two));
        Assert.Equal(HttpStatusCode.TooManyRequests, await WriteAsync(one));
        Assert.Equal(HttpStatusCode.TooManyRequests, await WriteAsync(two));
        Assert.Equal(HttpStatusCode.Created, await WriteAsync(other));
    }
}

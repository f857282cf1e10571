namespace Aetherra.Integration.Tests;

public sealed class AuthKeysTests(AetherraFixture fx)
{
    private static string NewTenant() => "t-" + Guid.NewGuid().ToString("N")[..16];

    [Fact]
    public async Task an_issued_key_is_answered_once_and_works_at_once()
    {
        var admin = await fx.NewTenantAsync("operator");
        var tenant = NewTenant();

        var response = await fx.Client(admin.Key).PostAsJsonAsync("/admin/keys",
            new { name = "worker", tenant, scopes = new[] { "memory:write", "memory:read", "memory:write" } });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Json();
        var id = created.GetProperty("id").GetGuid();
        var key = created.GetProperty("key").GetString()!;
        Assert.StartsWith("ak_", key);
        Assert.Equal(tenant, created.GetProperty("tenant").GetString());
        Assert.Equal(["memory:write", "memory:read"], created.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()).ToArray());
        Assert.EndsWith($"/admin/keys/{id}", response.Headers.Location?.ToString());

        var (memory, sequence) = await fx.Client(key).RecordAsync(Api.Memory("Alice likes tea"));
        var read = await fx.Client(key).GetAsync($"/memories/{memory}?minSequence={sequence}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    public static TheoryData<string, string> InvalidRequests => new()
    {
        { """{"name":"k","tenant":"t-ok","scopes":["memory:read","memory:everything"]}""", "scopes[1]" },
        { """{"name":"k","tenant":"t-ok","scopes":[]}""", "scopes" },
        { """{"name":"k","tenant":"t-ok"}""", "scopes" },
        { """{"name":"k","tenant":"Bad Tenant!","scopes":["memory:read"]}""", "tenant" },
        { """{"name":"k","scopes":["memory:read"]}""", "tenant" },
        { """{"tenant":"t-ok","scopes":["memory:read"]}""", "name" },
        { """{"name":"","tenant":"t-ok","scopes":["memory:read"]}""", "name" },
    };

    [Theory, MemberData(nameof(InvalidRequests))]
    public async Task an_invalid_key_request_is_400_with_the_field_in_error_and_issues_nothing(string json, string field)
    {
        var admin = await fx.NewTenantAsync("operator");
        var tenant = NewTenant();

        var response = await fx.Client(admin.Key).PostAsync("/admin/keys",
            new StringContent(json.Replace("t-ok", tenant), System.Text.Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"no error for '{field}' in {errors}");
        Assert.NotEmpty(messages.EnumerateArray().Select(m => m.GetString()));
        Assert.Single(errors.EnumerateObject());
        Assert.Equal(0, await CountKeysAsync(tenant, "Bad Tenant!"));
    }

    [Fact]
    public async Task a_revoked_key_stops_working_on_the_next_call()
    {
        var admin = await fx.NewTenantAsync("operator");
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/audit")).StatusCode);

        var revoke = await fx.Client(admin.Key).DeleteAsync($"/admin/keys/{key.KeyId}");

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        var body = await revoke.Json();
        Assert.Equal(key.KeyId, body.GetProperty("id").GetGuid());
        Assert.Equal("revoked", body.GetProperty("status").GetString());
        await (await client.GetAsync("/audit")).AssertProblem(HttpStatusCode.Unauthorized);
        await (await client.PostAsJsonAsync("/memories", Api.Memory("Alice likes tea"))).AssertProblem(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task revoking_an_unknown_or_already_revoked_key_is_404()
    {
        var admin = await fx.NewTenantAsync("operator");
        var key = await fx.NewTenantAsync();
        Assert.Equal(HttpStatusCode.OK, (await fx.Client(admin.Key).DeleteAsync($"/admin/keys/{key.KeyId}")).StatusCode);

        await (await fx.Client(admin.Key).DeleteAsync($"/admin/keys/{Guid.NewGuid()}")).AssertProblem(HttpStatusCode.NotFound);
        await (await fx.Client(admin.Key).DeleteAsync($"/admin/keys/{key.KeyId}")).AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task the_key_table_never_holds_the_key_itself()
    {
        var key = await fx.NewTenantAsync();

        var dump = await fx.DumpTableAsync("aetherra.api_keys");

        Assert.Contains(key.KeyId.ToString(), dump);
        HostingHttp.AssertAbsentFrom(key.Key, dump);
        HostingHttp.AssertAbsentFrom(key.Key["ak_".Length..], dump);
    }

    private async Task<long> CountKeysAsync(params string[] tenants)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand("select count(*) from aetherra.api_keys where tenant_id = any($1)", db)
        {
            Parameters = { new() { Value = tenants } }
        };
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}

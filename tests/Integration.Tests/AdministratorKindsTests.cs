using Aetherra.Infrastructure.Keys;

namespace Aetherra.Integration.Tests;

/// <summary>
/// Issue 13: two kinds of administrator. The operator (scope <c>operator</c>, the bootstrap key) issues keys for
/// any tenant and runs the installation; a tenant's administrator (<c>admin</c>) issues and revokes its own
/// tenant's keys only, never grants <c>operator</c>, and reads its own tenant's jobs only.
/// </summary>
public sealed class AdministratorKindsTests(AetherraFixture fx)
{
    private static string NewTenant() => "t-" + Guid.NewGuid().ToString("N")[..16];

    private static object KeyRequest(string tenant, params string[] scopes) => new { name = "k", tenant, scopes };

    [Fact]
    public async Task a_tenant_administrator_issues_keys_for_its_own_tenant()
    {
        var admin = await fx.NewTenantAsync("admin");

        var response = await fx.Client(admin.Key).PostAsJsonAsync("/admin/keys", KeyRequest(admin.Tenant, "memory:read", "admin"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(admin.Tenant, (await response.Json()).GetProperty("tenant").GetString());
    }

    [Fact]
    public async Task a_tenant_administrator_cannot_issue_a_key_for_another_tenant_and_the_refusal_is_audited()
    {
        var admin = await fx.NewTenantAsync("admin");
        var victim = NewTenant();

        var response = await fx.Client(admin.Key).PostAsJsonAsync("/admin/keys", KeyRequest(victim, "memory:read"));

        var problem = await response.AssertProblem(HttpStatusCode.Forbidden);
        Assert.Contains("operator", problem.GetProperty("detail").GetString());
        Assert.Equal(0, await CountKeysAsync(victim));
        var refused = Assert.Single(await fx.Client(admin.Key).AuditAsync("key.create"));
        Assert.Equal(403, refused.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task a_tenant_administrator_cannot_grant_operator()
    {
        var admin = await fx.NewTenantAsync("admin");

        var response = await fx.Client(admin.Key).PostAsJsonAsync("/admin/keys", KeyRequest(admin.Tenant, "admin", "operator"));

        await response.AssertProblem(HttpStatusCode.Forbidden);
        Assert.Equal(1, await CountKeysAsync(admin.Tenant));
    }

    [Fact]
    public async Task a_tenant_administrator_revokes_its_own_tenants_keys_and_another_tenants_key_is_404()
    {
        var admin = await fx.NewTenantAsync("admin");
        var own = await fx.NewKeyAsync(admin.Tenant, "memory:read");
        var foreign = await fx.NewTenantAsync("memory:read");
        var client = fx.Client(admin.Key);

        await (await client.DeleteAsync($"/admin/keys/{foreign.KeyId}")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/admin/keys/{own.KeyId}")).StatusCode);

        await (await fx.Client(foreign.Key).GetAsync("/memories/" + Guid.NewGuid())).AssertProblem(HttpStatusCode.NotFound);
        await (await fx.Client(own.Key).GetAsync("/memories/" + Guid.NewGuid())).AssertProblem(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task a_tenant_administrator_cannot_revoke_an_operator_key_of_its_own_tenant()
    {
        var operatorKey = await fx.NewTenantAsync("admin", "operator");
        var admin = await fx.NewKeyAsync(operatorKey.Tenant, "admin");

        await (await fx.Client(admin.Key).DeleteAsync($"/admin/keys/{operatorKey.KeyId}")).AssertProblem(HttpStatusCode.NotFound);

        Assert.Equal(HttpStatusCode.OK, (await fx.Client(operatorKey.Key).GetAsync("/admin/status")).StatusCode);
    }

    [Fact]
    public async Task the_operator_issues_keys_for_any_tenant_grants_operator_and_revokes_any_key()
    {
        var operatorKey = await fx.NewTenantAsync("operator");
        var client = fx.Client(operatorKey.Key);
        var tenant = NewTenant();

        var issued = await client.PostAsJsonAsync("/admin/keys", KeyRequest(tenant, "admin", "operator"));
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var id = (await issued.Json()).GetProperty("id").GetGuid();

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/admin/keys/{id}")).StatusCode);
    }

    [Fact]
    public async Task operator_routes_are_403_for_a_tenant_administrator_and_open_to_the_operator()
    {
        var admin = fx.Client((await fx.NewTenantAsync("admin")).Key);
        var operatorClient = fx.Client((await fx.NewTenantAsync("operator")).Key);

        foreach (var path in new[] { "/admin/status", "/admin/projections" })
        {
            var problem = await (await admin.GetAsync(path)).AssertProblem(HttpStatusCode.Forbidden);
            Assert.Contains("operator", problem.GetProperty("detail").GetString());
            Assert.Equal(HttpStatusCode.OK, (await operatorClient.GetAsync(path)).StatusCode);
        }
        await (await admin.PutAsJsonAsync("/homeostasis/setpoints/recall.p95", new { min = 0, max = 10 })).AssertProblem(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task operator_alone_holds_no_tenant_scope()
    {
        var operatorKey = await fx.NewTenantAsync("operator");

        await (await fx.Client(operatorKey.Key).GetAsync("/audit")).AssertProblem(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task a_tenant_administrator_reads_its_own_tenants_jobs_only()
    {
        var a = await fx.NewTenantAsync("admin");
        var b = await fx.NewTenantAsync("admin");
        var job = await fx.Client(a.Key).PostAsJsonAsync("/memories/consolidate", new { subject = "alice" });
        Assert.Equal(HttpStatusCode.Accepted, job.StatusCode);
        var jobId = (await job.Json()).GetProperty("jobId").GetGuid();

        Assert.Equal(HttpStatusCode.OK, (await fx.Client(a.Key).GetAsync($"/admin/jobs/{jobId}")).StatusCode);
        await (await fx.Client(b.Key).GetAsync($"/admin/jobs/{jobId}")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await fx.Client(fx.AdminKey).GetAsync($"/admin/jobs/{jobId}")).StatusCode);
    }

    /// <summary>
    /// The migration (docs/security.md): on start-up the bootstrap key (the first key, named bootstrap-admin)
    /// gains operator if it lacks it; other admin keys stay the administrators of their own tenants.
    /// </summary>
    [Fact]
    public async Task on_start_up_the_bootstrap_key_gains_operator_and_other_admin_keys_stay_tenant_administrators()
    {
        var tenantAdmin = await fx.NewTenantAsync("admin");
        await using (var db = fx.OpenDatabase())
        await using (var strip = new Npgsql.NpgsqlCommand(
            $"update aetherra.api_keys set scopes = array_remove(scopes, 'operator') where name = '{ApiKeyStore.BootstrapName}'", db))
            Assert.Equal(1, await strip.ExecuteNonQueryAsync());

        var keys = fx.Host.Services.GetRequiredService<ApiKeyStore>();
        Assert.True(await keys.GrantBootstrapOperatorAsync(CancellationToken.None));
        Assert.False(await keys.GrantBootstrapOperatorAsync(CancellationToken.None));

        Assert.Equal(["admin", "operator"], await ScopesAsync($"name = '{ApiKeyStore.BootstrapName}'"));
        Assert.Equal(["admin"], await ScopesAsync($"id = '{tenantAdmin.KeyId}'"));
    }

    private async Task<string[]> ScopesAsync(string where)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand($"select scopes from aetherra.api_keys where {where}", db);
        return (string[])(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<long> CountKeysAsync(string tenant)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new Npgsql.NpgsqlCommand("select count(*) from aetherra.api_keys where tenant_id = $1", db)
        {
            Parameters = { new() { Value = tenant } }
        };
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}

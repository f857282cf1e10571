namespace Aetherra.Integration.Tests;

public sealed class IdempotencyTests(AetherraFixture fx)
{
    private static string NewKey() => "idem-" + Guid.NewGuid();

    [Fact]
    public async Task a_retried_record_gets_the_first_answer_and_records_once()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var idem = NewKey();

        var first = await client.Send(HttpMethod.Post, "/memories", Api.Memory("Alice likes tea"), idem);
        var retry = await client.Send(HttpMethod.Post, "/memories", Api.Memory("Alice likes tea"), idem);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.False(first.Replayed());
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Replayed());
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Content.Headers.ContentType, retry.Content.Headers.ContentType);
        Assert.Equal(1, await fx.CountEventsAsync(key.Tenant, "memory.recorded.v1"));
    }

    [Fact]
    public async Task the_same_key_with_another_body_is_422_and_runs_nothing()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var idem = NewKey();
        Assert.Equal(HttpStatusCode.Created, (await client.Send(HttpMethod.Post, "/memories", Api.Memory("Alice likes tea"), idem)).StatusCode);

        var other = await client.Send(HttpMethod.Post, "/memories", Api.Memory("Alice likes coffee"), idem);

        await other.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.False(other.Replayed());
        Assert.Equal(1, await fx.CountEventsAsync(key.Tenant, "memory.recorded.v1"));
    }

    [Fact]
    public async Task the_same_key_in_another_tenant_is_independent()
    {
        var a = await fx.NewTenantAsync();
        var b = await fx.NewTenantAsync();
        var idem = NewKey();
        var first = await fx.Client(a.Key).Send(HttpMethod.Post, "/memories", Api.Memory("Alice likes tea"), idem);

        var other = await fx.Client(b.Key).Send(HttpMethod.Post, "/memories", Api.Memory("Alice likes tea"), idem);

        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        Assert.False(other.Replayed());
        Assert.NotEqual((await first.Json()).GetProperty("id").GetGuid(), (await other.Json()).GetProperty("id").GetGuid());
        Assert.Equal(1, await fx.CountEventsAsync(b.Tenant, "memory.recorded.v1"));
    }

    [Fact]
    public async Task a_rejected_request_replays_its_rejection()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var idem = NewKey();
        var invalid = Api.Memory("Alice likes tea", kind: "rumour");

        var first = await client.Send(HttpMethod.Post, "/memories", invalid, idem);
        var retry = await client.Send(HttpMethod.Post, "/memories", invalid, idem);

        await first.AssertProblem(HttpStatusCode.BadRequest);
        await retry.AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(retry.Replayed());
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task a_retried_revision_is_applied_once()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Alice likes tea"));
        var idem = NewKey();
        var revision = new { content = "Alice likes coffee", reason = "changed her mind" };

        var first = await client.Send(HttpMethod.Put, $"/memories/{id}", revision, idem);
        var retry = await client.Send(HttpMethod.Put, $"/memories/{id}", revision, idem);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.True(retry.Replayed());
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, await fx.CountEventsAsync(key.Tenant, "memory.revised.v1"));
        var read = await (await client.GetAsync($"/memories/{id}")).Json();
        Assert.Equal(2, read.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task a_retried_forget_is_applied_once()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Alice likes tea"));
        var idem = NewKey();

        var first = await client.Send(HttpMethod.Delete, $"/memories/{id}?reason=asked", idempotencyKey: idem);
        var retry = await client.Send(HttpMethod.Delete, $"/memories/{id}?reason=asked", idempotencyKey: idem);
        var elsewhere = await client.Send(HttpMethod.Delete, $"/memories/{id}?reason=other", idempotencyKey: idem);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.True(retry.Replayed());
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
        await elsewhere.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(1, await fx.CountEventsAsync(key.Tenant, "memory.forgotten.v1"));
    }

    [Fact]
    public async Task a_retried_key_issue_returns_the_same_key_and_keeps_it_sealed()
    {
        var admin = await fx.NewTenantAsync("operator");
        var client = fx.Client(admin.Key);
        var idem = NewKey();
        var request = new { name = "worker", tenant = "t-" + Guid.NewGuid().ToString("N")[..16], scopes = new[] { "audit:read" } };

        var first = await client.Send(HttpMethod.Post, "/admin/keys", request, idem);
        var retry = await client.Send(HttpMethod.Post, "/admin/keys", request, idem);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Replayed());
        var secret = (await first.Json()).GetProperty("key").GetString()!;
        Assert.Equal(secret, (await retry.Json()).GetProperty("key").GetString());
        Assert.Equal(HttpStatusCode.OK, (await fx.Client(secret).GetAsync("/audit")).StatusCode);
        await using (var db = fx.OpenDatabase())
        await using (var count = new Npgsql.NpgsqlCommand("select count(*) from aetherra.api_keys where tenant_id = $1", db)
                     { Parameters = { new() { Value = request.tenant } } })
        {
            Assert.Equal(1L, (long)(await count.ExecuteScalarAsync())!);
        }

        var dump = await fx.DumpTableAsync("aetherra.idempotency");
        Assert.Contains(idem, dump);
        HostingHttp.AssertAbsentFrom(secret, dump);
        HostingHttp.AssertAbsentFrom(secret["ak_".Length..], dump);
    }

    /// <summary>Issue 13: the replay of POST /admin/keys after the key was revoked returned the secret again.</summary>
    [Fact]
    public async Task a_replayed_key_issue_after_the_key_was_revoked_is_410_without_the_secret()
    {
        var admin = fx.Client((await fx.NewTenantAsync("operator")).Key);
        var idem = NewKey();
        var request = new { name = "worker", tenant = "t-" + Guid.NewGuid().ToString("N")[..16], scopes = new[] { "audit:read" } };
        var first = await admin.Send(HttpMethod.Post, "/admin/keys", request, idem);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var issued = await first.Json();
        var secret = issued.GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/admin/keys/{issued.GetProperty("id").GetGuid()}")).StatusCode);

        var retry = await admin.Send(HttpMethod.Post, "/admin/keys", request, idem);

        await retry.AssertProblem(HttpStatusCode.Gone);
        HostingHttp.AssertAbsentFrom(secret, await retry.Content.ReadAsStringAsync());
    }
}

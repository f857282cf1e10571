namespace Aetherra.Integration.Tests;

public sealed class TenancyTests(AetherraFixture fx)
{
    /// <summary>What a 404 says, without what differs on every request (the path and the request id).</summary>
    private static async Task<string> NotFoundShape(HttpResponseMessage response)
    {
        var problem = await response.AssertProblem(HttpStatusCode.NotFound);
        var fields = problem.EnumerateObject()
            .Where(p => p.Name is not ("instance" or "requestId" or "traceId"))
            .Select(p => $"{p.Name}={p.Value}");
        var names = problem.EnumerateObject().Select(p => p.Name).Order();
        return string.Join(";", fields) + "|" + string.Join(",", names);
    }

    [Fact]
    public async Task another_tenants_memory_answers_exactly_like_an_unknown_id()
    {
        var a = await fx.NewTenantAsync();
        var b = await fx.NewTenantAsync();
        var (idA, _) = await fx.Client(a.Key).RecordAsync(Api.Memory("Alice is allergic to peanuts"));
        var unknown = Guid.NewGuid();
        var clientB = fx.Client(b.Key);

        Assert.Equal(await NotFoundShape(await clientB.GetAsync($"/memories/{unknown}")),
            await NotFoundShape(await clientB.GetAsync($"/memories/{idA}")));
        Assert.Equal(await NotFoundShape(await clientB.GetAsync($"/memories/{unknown}/history")),
            await NotFoundShape(await clientB.GetAsync($"/memories/{idA}/history")));
        var revision = new { content = "Alice eats peanuts now", reason = "overwrite" };
        Assert.Equal(await NotFoundShape(await clientB.PutAsJsonAsync($"/memories/{unknown}", revision)),
            await NotFoundShape(await clientB.PutAsJsonAsync($"/memories/{idA}", revision)));
        Assert.Equal(await NotFoundShape(await clientB.DeleteAsync($"/memories/{unknown}?reason=x")),
            await NotFoundShape(await clientB.DeleteAsync($"/memories/{idA}?reason=x")));
    }

    [Fact]
    public async Task another_tenant_cannot_revise_or_forget_a_memory()
    {
        var a = await fx.NewTenantAsync();
        var b = await fx.NewTenantAsync();
        var clientA = fx.Client(a.Key);
        var (idA, _) = await clientA.RecordAsync(Api.Memory("Alice is allergic to peanuts"));
        var clientB = fx.Client(b.Key);

        await (await clientB.PutAsJsonAsync($"/memories/{idA}",
            new { content = "Alice eats peanuts now", reason = "overwrite", expectedVersion = 1 })).AssertProblem(HttpStatusCode.NotFound);
        await (await clientB.DeleteAsync($"/memories/{idA}")).AssertProblem(HttpStatusCode.NotFound);

        var read = await (await clientA.GetAsync($"/memories/{idA}")).Json();
        Assert.Equal("Alice is allergic to peanuts", read.GetProperty("content").GetString());
        Assert.Equal("active", read.GetProperty("status").GetString());
        Assert.Equal(1, read.GetProperty("version").GetInt32());
        var history = await (await clientA.GetAsync($"/memories/{idA}/history")).Json();
        Assert.Equal(1, history.GetArrayLength());
    }

    [Fact]
    public async Task the_audit_of_a_tenant_shows_none_of_another_tenants_records()
    {
        var a = await fx.NewTenantAsync();
        var b = await fx.NewTenantAsync();
        var clientA = fx.Client(a.Key);
        var (idA, _) = await clientA.RecordAsync(Api.Memory("Alice is allergic to peanuts"));
        Assert.Equal(HttpStatusCode.OK, (await clientA.DeleteAsync($"/memories/{idA}")).StatusCode);
        var clientB = fx.Client(b.Key);
        await clientB.RecordAsync(Api.Memory("Bob is allergic to peanuts"));

        var audit = await (await clientB.GetAsync("/audit?limit=1000")).Json();

        var records = audit.GetProperty("records").EnumerateArray().ToList();
        Assert.Single(records);
        Assert.All(records, r =>
        {
            Assert.Equal(b.Tenant, r.GetProperty("tenant").GetString());
            Assert.Equal(b.KeyId.ToString(), r.GetProperty("actor").GetString());
        });
        var byActor = await (await clientB.GetAsync($"/audit?actor={a.KeyId}")).Json();
        Assert.Equal(0, byActor.GetProperty("records").GetArrayLength());
        var byTarget = await (await clientB.GetAsync($"/audit?stream={idA}")).Json();
        Assert.Equal(0, byTarget.GetProperty("records").GetArrayLength());
    }

    [Fact]
    public async Task the_same_content_in_another_tenant_is_a_memory_of_its_own()
    {
        var a = await fx.NewTenantAsync();
        var b = await fx.NewTenantAsync();
        var memory = Api.Memory("Alice is allergic to peanuts");
        var (idA, _) = await fx.Client(a.Key).RecordAsync(memory);

        var response = await fx.Client(b.Key).PostAsJsonAsync("/memories/batch", new { memories = new[] { memory } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = Assert.Single((await response.Json()).GetProperty("results").EnumerateArray());
        Assert.False(result.GetProperty("deduplicated").GetBoolean());
        var idB = result.GetProperty("id").GetGuid();
        Assert.NotEqual(idA, idB);
        var readB = await (await fx.Client(b.Key).GetAsync($"/memories/{idB}")).Json();
        Assert.Equal("Alice is allergic to peanuts", readB.GetProperty("content").GetString());
        Assert.Equal(1, await fx.CountEventsAsync(a.Tenant, "memory.recorded.v1"));
        Assert.Equal(1, await fx.CountEventsAsync(b.Tenant, "memory.recorded.v1"));
    }

    [Fact]
    public async Task forgetting_a_subject_leaves_the_same_subject_of_another_tenant_readable()
    {
        var a = await fx.NewTenantAsync();
        var b = await fx.NewTenantAsync();
        var clientA = fx.Client(a.Key);
        var (idA, _) = await clientA.RecordAsync(Api.Memory("Alice is allergic to peanuts", subject: "alice"));
        var clientB = fx.Client(b.Key);
        var (idB, _) = await clientB.RecordAsync(Api.Memory("Alice lives in Lyon", subject: "alice"));

        var forget = await clientB.DeleteAsync("/subjects/alice");

        Assert.Equal(HttpStatusCode.OK, forget.StatusCode);
        Assert.Equal(1, (await forget.Json()).GetProperty("memoriesForgotten").GetInt32());
        var readA = await (await clientA.GetAsync($"/memories/{idA}")).Json();
        Assert.Equal("Alice is allergic to peanuts", readA.GetProperty("content").GetString());
        Assert.Equal("active", readA.GetProperty("status").GetString());
        var readB = await (await clientB.GetAsync($"/memories/{idB}")).Json();
        Assert.Equal("forgotten", readB.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, readB.GetProperty("content").ValueKind);
    }
}

using System.Net.Http.Headers;
using System.Text;

namespace Aetherra.Integration.Tests;

public sealed class HostingTests(AetherraFixture fx)
{
    [Theory]
    [InlineData("GET", "/nowhere")]
    [InlineData("POST", "/memories/nowhere/deeper")]
    [InlineData("GET", "/memories/not-a-guid")]
    public async Task an_unknown_route_is_a_404_problem(string method, string path)
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).Send(new HttpMethod(method), path);

        await response.AssertProblem(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task a_body_over_the_limit_is_a_413_problem_records_nothing_and_is_audited(bool withIdempotencyKey)
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var content = new string('a', 33 * 1024 * 1024);
        var json = Encoding.UTF8.GetBytes($$"""{"content":"{{content}}","subject":"alice","agent":"assistant","kind":"fact"}""");
        var request = new HttpRequestMessage(HttpMethod.Post, "/memories") { Content = new ByteArrayContent(json) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (withIdempotencyKey) request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());

        var response = await client.SendAsync(request);

        await response.AssertProblem(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, "memory.recorded.v1"));
        var audit = await (await client.GetAsync("/audit")).Json();
        var record = Assert.Single(audit.GetProperty("records").EnumerateArray());
        Assert.Equal(413, record.GetProperty("status").GetInt32());
        Assert.Equal("rejected", record.GetProperty("outcome").GetString());
        Assert.Equal(response.RequestId(), record.GetProperty("requestId").GetString());
    }

    [Theory]
    [InlineData("{\"content\":")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"content\":42,\"subject\":\"alice\",\"agent\":\"a\",\"kind\":\"fact\"}")]
    public async Task a_body_that_is_not_the_expected_json_is_a_400_problem(string json)
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostAsync("/memories", new StringContent(json, Encoding.UTF8, "application/json"));

        await response.AssertProblem(HttpStatusCode.BadRequest);
    }
}

using System.Net.Http.Headers;
using Aetherra.Application.Homeostasis;
using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Conversations;

/// <summary>Homeostasis watches the providers: the share of model calls that failed is a vital of its own.</summary>
public sealed class AiVitalTests(AetherraFixture fx)
{
    [Fact]
    public async Task the_share_of_failed_model_calls_is_sampled_as_a_vital()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var model = await FakeOpenAi.StartAsync();
        // A server of its own, sampling every second: the fixture's host samples only when a test asks, with no provider.
        await using var server = await fx.StartLoopbackServerAsync(new Dictionary<string, string> { ["AETHERRA_VITALS_SECONDS"] = "1" });
        HttpClient Client(string key)
        {
            var client = new HttpClient { BaseAddress = server.BaseAddress };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return client;
        }
        var op = Client(await server.NewKeyAsync("operator", "default", ["operator"], ct));
        var configured = await op.PutAsJsonAsync("/admin/ai/providers", new
        {
            providers = new object[]
            {
                new { name = "down", kind = "openai", baseUrl = model.BaseUrl("fail500"), model = "m", timeoutSeconds = 10 },
                new { name = "up", kind = "openai", baseUrl = model.BaseUrl("ok"), model = "m", timeoutSeconds = 10 },
            },
        }, ct);
        Assert.True(configured.StatusCode == HttpStatusCode.OK, await configured.Content.ReadAsStringAsync(ct));
        var client = Client(await server.NewKeyAsync("test", "t-" + Guid.NewGuid().ToString("N")[..12],
            [.. ConversationSupport.AllScopes, "homeostasis:read"], ct));
        var id = await client.StartConversationAsync(subject: "dan", extraction: false);

        // A first sample marks where the next interval starts (rates are over the calls between two samples).
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while ((await client.GetOkAsync("/homeostasis")).GetProperty("vitals").GetArrayLength() == 0)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the server never sampled its vitals");
            await Task.Delay(200, ct);
        }

        // The first provider fails, the second answers: two calls, one failed.
        Assert.Equal("up", (await client.ReplyAsync(id, "Hello?")).Str("provider"));

        while (true)
        {
            var vitals = (await client.GetOkAsync("/homeostasis")).GetProperty("vitals").EnumerateArray().ToArray();
            if (vitals.FirstOrDefault(v => v.Str("name") == Vitals.AiFailureRate) is { ValueKind: JsonValueKind.Object } vital)
            {
                Assert.Equal(0.5, vital.GetProperty("value").GetDouble());
                Assert.Equal(0.5, vital.GetProperty("setpoint").GetProperty("max").GetDouble());
                return;
            }
            Assert.True(DateTimeOffset.UtcNow < deadline, $"no {Vitals.AiFailureRate} vital was sampled");
            await Task.Delay(200, ct);
        }
    }
}

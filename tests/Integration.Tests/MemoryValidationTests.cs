using System.Text.Json.Nodes;

namespace Aetherra.Integration.Tests;

public sealed class MemoryValidationTests(AetherraFixture fx)
{
    private static readonly string TooManyTags = JsonSerializer.Serialize(Enumerable.Range(0, 33).Select(i => $"t{i}"));

    /// <summary>A valid memory with fields replaced (or removed, when the value is null).</summary>
    private static string With(string field, string? json, string? field2 = null, string? json2 = null)
    {
        var memory = new JsonObject { ["content"] = "Nina owns a cat", ["subject"] = "nina", ["agent"] = "assistant", ["kind"] = "fact" };
        foreach (var (name, value) in new[] { (field, json), (field2, json2) })
        {
            if (name is null) continue;
            if (value is null) memory.Remove(name);
            else memory[name] = JsonNode.Parse(value);
        }
        return memory.ToJsonString();
    }

    private static readonly Dictionary<string, (string Body, string Field)> Invalid = new()
    {
        ["content missing"] = (With("content", null), "content"),
        ["content blank"] = (With("content", "\"   \""), "content"),
        ["content too long"] = (With("content", JsonSerializer.Serialize(new string('c', 16_385))), "content"),
        ["subject missing"] = (With("subject", null), "subject"),
        ["subject too long"] = (With("subject", JsonSerializer.Serialize(new string('s', 201))), "subject"),
        ["agent missing"] = (With("agent", null), "agent"),
        ["kind missing"] = (With("kind", null), "kind"),
        ["kind unknown"] = (With("kind", "\"rumour\""), "kind"),
        ["importance below 0"] = (With("importance", "-0.01"), "importance"),
        ["importance above 1"] = (With("importance", "1.01"), "importance"),
        ["classification unknown"] = (With("classification", "\"secret\""), "classification"),
        ["33 tags"] = (With("tags", TooManyTags), "tags"),
        ["an empty tag"] = (With("tags", "[\"ok\", \"\"]"), "tags[1]"),
        ["a tag of 65 characters"] = (With("tags", JsonSerializer.Serialize(new[] { new string('t', 65) })), "tags[0]"),
        ["expiresAt before occurredAt"] = (With("occurredAt", "\"2024-05-02T00:00:00Z\"", "expiresAt", "\"2024-05-01T00:00:00Z\""), "expiresAt"),
        ["expiresAt equal to occurredAt"] = (With("occurredAt", "\"2024-05-02T00:00:00Z\"", "expiresAt", "\"2024-05-02T00:00:00Z\""), "expiresAt"),
    };

    public static TheoryData<string> InvalidCases => new(Invalid.Keys);

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public async Task an_invalid_memory_is_refused_with_the_field_named_and_nothing_is_recorded(string because)
    {
        var key = await fx.NewTenantAsync();
        var (body, field) = Invalid[because];

        var response = await fx.Client(key.Key).PostRawAsync("/memories", body);

        await response.AssertValidationErrorAsync(field, because);
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task a_json_null_body_is_refused_with_the_body_named()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostRawAsync("/memories", "null");

        await response.AssertValidationErrorAsync("body");
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Fact]
    public async Task a_missing_body_is_refused_as_a_bad_request()
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostRawAsync("/memories", "");

        await response.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }

    [Theory]
    [InlineData("{\"content\": \"unterminated")]
    [InlineData("{\"content\": \"x\", \"subject\": \"s\", \"agent\": \"a\", \"kind\": \"fact\", \"importance\": \"high\"}")]
    [InlineData("[1, 2, 3]")]
    public async Task malformed_json_is_refused_as_a_bad_request_and_nothing_is_recorded(string body)
    {
        var key = await fx.NewTenantAsync();

        var response = await fx.Client(key.Key).PostRawAsync("/memories", body);

        await response.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal(0, await fx.CountEventsAsync(key.Tenant, MemoryTestSupport.Recorded));
    }
}

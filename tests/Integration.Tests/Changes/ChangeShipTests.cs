using System.Text.Json.Nodes;
using Aetherra.Api.Changes;
using Aetherra.Application.Changes;
using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Changes;

public sealed class ChangeShipTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_change_ships_only_through_every_gate_and_its_manifest_verifies_offline()
    {
        var tenant = await fx.NewTenantAsync(ChangeSupport.AllScopes);
        var admin = fx.Client((await fx.NewKeyAsync(tenant.Tenant, "admin")).Key);
        var client = fx.Client(tenant.Key);
        var runner = new Runner();
        await runner.TrustAsync(admin);
        var (id, sha) = await client.ProposeChangeAsync();
        Assert.Equal(ChangeSignatures.Sha256Hex(ChangeSupport.Patch), sha);

        var bare = await client.PostAsync($"/changes/{id}/ship", new { }, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["stage:test", "stage:security", "stage:review", "decision"], bare.Gates());

        await client.PostAsync($"/changes/{id}/stages", runner.Verdict(id, sha, "test", true, "42 passed, 0 failed"));
        await client.PostAsync($"/changes/{id}/stages", runner.Verdict(id, sha, "security", true));
        await client.PostAsync($"/changes/{id}/stages", runner.Verdict(id, sha, "review", false, "needs a test for the comma"));
        var failedReview = await client.PostAsync($"/changes/{id}/ship", new { }, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["stage:review", "decision"], failedReview.Gates());
        Assert.Contains("did not pass", failedReview.Str("detail"));

        await client.PostAsync($"/changes/{id}/stages", runner.Verdict(id, sha, "review", true, "approved by the reviewer agent"));
        var decision = await client.DecideAsync(id);
        Assert.Equal("approved", decision.Str("status"));
        var shipped = await client.PostAsync($"/changes/{id}/ship", new { });
        Assert.Equal("shipped", shipped.Str("status"));
        var manifest = shipped.GetProperty("manifest");
        Assert.Equal(id.ToString(), manifest.Str("changeId"));
        Assert.Equal(sha, manifest.Str("patchSha256"));
        Assert.Equal("governor", manifest.GetProperty("decision").Str("approval"));
        Assert.Equal(decision.Id().ToString(), manifest.GetProperty("decision").Str("id"));
        Assert.Equal(runner.KeyId, manifest.GetProperty("stages")[0].Str("runnerKeyId"));

        var auditKey = Convert.FromBase64String((await client.GetOkAsync("/audit/public-key")).Str("publicKey"));
        Assert.Empty(ChangeSignatures.VerifyManifest(shipped, auditKey, ChangeSupport.Patch));
        Assert.Contains(ChangeSignatures.VerifyManifest(shipped, auditKey, ChangeSupport.Patch + "\n"), p => p.Contains("patchSha256"));

        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, shipped.GetRawText());
        var (code, output) = await VerifyAsync("--public-key", Convert.ToBase64String(auditKey), file);
        Assert.True(code == 0, output);
        Assert.StartsWith("OK:", output);
        Assert.Equal(1, (await VerifyAsync("--public-key", Convert.ToBase64String(new Runner().PublicKey), file)).Code);

        await client.PostAsync($"/changes/{id}/ship", new { }, HttpStatusCode.UnprocessableEntity);
        await client.PostAsync($"/changes/{id}/stages", runner.Verdict(id, sha, "test", true), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("rolled-back", (await client.PostAsync($"/changes/{id}/rollback", new { reason = "500s in production" })).Str("status"));
        var change = await client.GetOkAsync($"/changes/{id}");
        Assert.Equal("rolled-back", change.Str("status"));
        Assert.Equal("500s in production", change.Str("rollbackReason"));
        Assert.Equal(manifest.GetRawText(), change.GetProperty("manifest").GetRawText());
    }

    [Fact]
    public async Task tampering_with_any_field_of_the_manifest_is_caught()
    {
        var (shipped, auditKey) = await ShipOneAsync();
        var original = JsonNode.Parse(shipped.GetRawText())!.AsObject();
        var paths = Leaves(original["manifest"]!, "").ToList();
        Assert.True(paths.Count > 25, $"only {paths.Count} fields");
        foreach (var path in paths)
        {
            var copy = JsonNode.Parse(shipped.GetRawText())!.AsObject();
            Tamper(copy["manifest"]!, path);
            var problems = ChangeSignatures.VerifyManifest(JsonSerializer.SerializeToElement(copy), auditKey);
            Assert.True(problems.Count > 0, $"tampering with {path} went unnoticed");
        }
        var resigned = JsonNode.Parse(shipped.GetRawText())!.AsObject();
        resigned["signature"] = Convert.ToBase64String(new byte[64]);
        Assert.NotEmpty(ChangeSignatures.VerifyManifest(JsonSerializer.SerializeToElement(resigned), auditKey));
        var extra = JsonNode.Parse(shipped.GetRawText())!.AsObject();
        extra["manifest"]!.AsObject()["note"] = "added later";
        Assert.NotEmpty(ChangeSignatures.VerifyManifest(JsonSerializer.SerializeToElement(extra), auditKey));
    }

    [Fact]
    public async Task an_escalated_decision_holds_the_change_until_a_human_approves_it()
    {
        var tenant = await fx.NewTenantAsync(ChangeSupport.AllScopes);
        var client = fx.Client(tenant.Key);
        var runner = new Runner();
        await runner.TrustAsync(fx.Client((await fx.NewKeyAsync(tenant.Tenant, "admin")).Key));
        var (id, sha) = await client.ProposeChangeAsync();
        await client.PassAllStagesAsync(runner, id, sha);
        var decision = await client.DecideAsync(id, confidence: 0.5);
        Assert.Equal("escalated", decision.Str("status"));

        var held = await client.PostAsync($"/changes/{id}/ship", new { decisionId = decision.Id() }, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["decision"], held.Gates());
        Assert.Contains("escalated", held.Str("detail"));
        var unrelated = await client.ProposeAsync(DecisionSupport.Proposal(0.99));
        Assert.Equal(["decision"], (await client.PostAsync($"/changes/{id}/ship", new { decisionId = unrelated.Id() }, HttpStatusCode.UnprocessableEntity)).Gates());

        await client.PostAsync($"/decisions/{decision.Id()}/approve", new { note = "reviewed the diff" });
        var shipped = await client.PostAsync($"/changes/{id}/ship", new { });
        Assert.Equal("human", shipped.GetProperty("manifest").GetProperty("decision").Str("approval"));
        Assert.Equal(tenant.KeyId.ToString(), shipped.GetProperty("manifest").GetProperty("decision").Str("approvedBy"));
    }

    [Fact]
    public async Task revoking_a_runner_key_takes_its_stages_from_unshipped_changes_only()
    {
        var tenant = await fx.NewTenantAsync(ChangeSupport.AllScopes);
        var admin = fx.Client((await fx.NewKeyAsync(tenant.Tenant, "admin")).Key);
        var client = fx.Client(tenant.Key);
        var runner = new Runner();
        await runner.TrustAsync(admin);
        var (shippedId, shippedSha) = await client.ProposeChangeAsync();
        await client.PassAllStagesAsync(runner, shippedId, shippedSha);
        await client.DecideAsync(shippedId);
        await client.PostAsync($"/changes/{shippedId}/ship", new { });
        var (id, sha) = await client.ProposeChangeAsync();
        await client.PassAllStagesAsync(runner, id, sha);
        await client.DecideAsync(id);

        var revoked = await admin.DeleteAsync($"/trust/publishers/{runner.KeyId}?reason=leaked");
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal(1, (await revoked.Json()).GetProperty("changesAffected").GetInt32());

        var change = await client.GetOkAsync($"/changes/{id}");
        Assert.All(change.GetProperty("stages").EnumerateArray(), s => Assert.True(s.GetProperty("revoked").GetBoolean()));
        var refused = await client.PostAsync($"/changes/{id}/ship", new { }, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["stage:test", "stage:security", "stage:review"], refused.Gates());
        Assert.Contains("revoked", refused.Str("detail"));
        await client.PostAsync($"/changes/{id}/stages", runner.Verdict(id, sha, "test", true), HttpStatusCode.UnprocessableEntity);

        var shipped = await client.GetOkAsync($"/changes/{shippedId}");
        Assert.Equal("shipped", shipped.Str("status"));
        Assert.All(shipped.GetProperty("stages").EnumerateArray(), s => Assert.False(s.GetProperty("revoked").GetBoolean()));
    }

    private async Task<(JsonElement Shipped, byte[] AuditKey)> ShipOneAsync()
    {
        var tenant = await fx.NewTenantAsync(ChangeSupport.AllScopes);
        var client = fx.Client(tenant.Key);
        var runner = new Runner();
        await runner.TrustAsync(fx.Client((await fx.NewKeyAsync(tenant.Tenant, "admin")).Key));
        var (id, sha) = await client.ProposeChangeAsync();
        await client.PassAllStagesAsync(runner, id, sha);
        await client.DecideAsync(id);
        var shipped = await client.PostAsync($"/changes/{id}/ship", new { });
        return (shipped, Convert.FromBase64String((await client.GetOkAsync("/audit/public-key")).Str("publicKey")));
    }

    private static async Task<(int Code, string Output)> VerifyAsync(params string[] args)
    {
        var output = new StringWriter();
        var code = await ChangesCommand.RunAsync(["verify", .. args], output, output);
        return (code, output.ToString());
    }

    private static IEnumerable<string> Leaves(JsonNode node, string path) => node switch
    {
        JsonObject o => o.SelectMany(p => Leaves(p.Value!, path.Length == 0 ? p.Key : $"{path}.{p.Key}")),
        JsonArray a => a.SelectMany((n, i) => Leaves(n!, $"{path}[{i}]")),
        _ => [path],
    };

    /// <summary>Changes one leaf: a string gets a character flipped, a number moves, a boolean flips.</summary>
    private static void Tamper(JsonNode root, string path)
    {
        JsonNode parent = root;
        var parts = System.Text.RegularExpressions.Regex.Matches(path, @"[^.\[\]]+").Select(m => m.Value).ToList();
        foreach (var part in parts[..^1]) parent = int.TryParse(part, out var i) ? parent[i]! : parent[part]!;
        var last = parts[^1];
        var leaf = int.TryParse(last, out var index) ? parent[index] : parent[last];
        JsonNode? changed = leaf?.GetValueKind() switch
        {
            JsonValueKind.String => JsonValue.Create(Flip(leaf!.GetValue<string>())),
            JsonValueKind.Number => JsonValue.Create(leaf!.GetValue<double>() + 0.01),
            JsonValueKind.True => JsonValue.Create(false),
            JsonValueKind.False => JsonValue.Create(true),
            _ => JsonValue.Create("x"),
        };
        if (int.TryParse(last, out index)) parent[index] = changed;
        else parent[last] = changed;
    }

    private static string Flip(string s) => s.Length == 0 ? "x" : (s[^1] == 'A' ? s[..^1] + "B" : s[..^1] + "A");
}

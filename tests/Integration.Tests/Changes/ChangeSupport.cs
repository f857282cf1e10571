using Aetherra.Application.Changes;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Integration.Tests.Decisions;

namespace Aetherra.Integration.Tests.Changes;

/// <summary>A stage runner of the tests: an Ed25519 key pair it signs verdicts with, trusted in a tenant's trust store.</summary>
public sealed class Runner
{
    private readonly byte[] _privateKey;

    public Runner()
    {
        (_privateKey, PublicKey) = Ed25519Signatures.Generate();
        KeyId = Ed25519Signatures.KeyId(PublicKey);
    }

    public byte[] PublicKey { get; }
    public string KeyId { get; }

    public async Task TrustAsync(HttpClient admin, string name = "ci-runner") =>
        await admin.PostAsync("/trust/publishers", new { name, publicKey = Convert.ToBase64String(PublicKey) }, HttpStatusCode.Created);

    /// <summary>The POST /changes/{id}/stages body, signed as the contract says.</summary>
    public object Verdict(Guid changeId, string patchSha256, string stage, bool passed, string evidence = "all green") => new
    {
        stage, passed, evidence, runnerKeyId = KeyId,
        signature = Convert.ToBase64String(Ed25519Signatures.Sign(_privateKey,
            ChangeSignatures.StagePayload(changeId, patchSha256, stage, passed, ChangeSignatures.Sha256Hex(evidence)))),
    };
}

public static class ChangeSupport
{
    public static readonly string[] AllScopes =
        ["changes:write", "changes:stage", "decisions:read", "decisions:write", "decisions:approve", "tasks:read", "tasks:write", "audit:read"];

    public const string Patch = """
        --- a/src/greeting.cs
        +++ b/src/greeting.cs
        @@ -1,3 +1,3 @@
         public static class Greeting
         {
        -    public static string Hello() => "hello";
        +    public static string Hello() => "hello, world";
         }

        """;

    public static object Proposal(string agent = "coder") => new
    {
        title = "Greet the world", repository = "git@example.org:team/app.git", baseRevision = "3f2c1a9", patch = Patch,
        plan = "Change the greeting; the tests cover Hello().", agent,
    };

    public static async Task<(Guid Id, string PatchSha256)> ProposeChangeAsync(this HttpClient client, string agent = "coder")
    {
        var created = await client.PostAsync("/changes", Proposal(agent), HttpStatusCode.Created);
        Assert.Equal("proposed", created.Str("status"));
        return (created.Id(), created.Str("patchSha256"));
    }

    public static async Task PassAllStagesAsync(this HttpClient client, Runner runner, Guid id, string sha)
    {
        foreach (var stage in new[] { "test", "security", "review" })
            await client.PostAsync($"/changes/{id}/stages", runner.Verdict(id, sha, stage, true));
    }

    /// <summary>A code-change decision about the change, auto-approved (confidence above the initial threshold) unless low.</summary>
    public static async Task<JsonElement> DecideAsync(this HttpClient client, Guid changeId, double confidence = 0.95) =>
        await client.ProposeAsync(new
        {
            agent = "coder", category = "code-change", action = $"ship change {changeId}", confidence, rationale = "tests pass",
            risk = "medium", subject = changeId.ToString(),
        });

    public static string[] Gates(this JsonElement problem) =>
        problem.GetProperty("missingGates").EnumerateArray().Select(g => g.Str("gate")).ToArray();
}

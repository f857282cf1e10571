using System.Text;
using Aetherra.Application.Plugins;
using Aetherra.Domain;
using Aetherra.Domain.Plugins;
using Aetherra.Domain.Scripts;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Keys;
using Marten;

namespace Aetherra.Application.Scripts;

/// <summary>
/// Strict verification, at upload and again before every run: the source parses and passes every check against
/// the key it runs as (a live key of this tenant), and its Ed25519 signature over the source's UTF-8 bytes verifies
/// with a publisher key this tenant trusts and has not revoked. Anything else is refused and nothing runs.
/// </summary>
public static class ScriptVerification
{
    public static async Task<ScriptProgram> VerifyAsync(
        IQuerySession session, ApiKeyStore keys, string tenant, string runAs, string source, string publisherKeyId, string signature,
        CancellationToken ct)
    {
        var (program, problem) = ScriptParser.Parse(source);
        if (program is null) throw new ScriptRefused([problem!]);
        var key = Guid.TryParse(runAs, out var keyId) ? await keys.FindByIdAsync(keyId, ct) : null;
        if (key is null || key.Tenant != tenant)
            throw new DomainRuleViolated($"the script's key {runAs} is revoked or unknown: it runs as nobody, so it does not run");
        var problems = ScriptChecks.Check(program, scope => Keys.Scopes.Grants(key.Scopes, scope));
        if (problems.Count > 0) throw new ScriptRefused(problems);

        var publisher = await session.LoadAsync<PublisherKey>(PluginStreams.PublisherKey(tenant, publisherKeyId), ct)
                        ?? throw new DomainRuleViolated($"publisher key {publisherKeyId} is not trusted in this tenant");
        if (publisher.Revoked) throw new DomainRuleViolated($"publisher key {publisherKeyId} is revoked");
        if (Signatures.Decode(signature) is not { } bytes
            || !Ed25519Signatures.Verify(Convert.FromBase64String(publisher.PublicKey), Encoding.UTF8.GetBytes(source), bytes))
            throw new DomainRuleViolated(
                $"the signature does not verify with publisher key {publisherKeyId} over the script's source (changed after signing, or signed by another key)");
        return program;
    }
}

using System.Security.Cryptography;
using Aetherra.Api.Release;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// `aetherra release verify` on a release the test makes (ops/release is too slow for ops/test): it accepts the
/// signed manifest, and rejects it after any one-byte change to the manifest, a changed artifact or another key.
/// </summary>
public sealed class ReleaseVerifyTests
{
    private static async Task<(string Manifest, byte[] PublicKey, byte[] PrivateKey, string Dir)> MakeReleaseAsync()
    {
        var dir = Directory.CreateTempSubdirectory("aetherra-release-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "aetherra-linux-x64.tar.gz"), "pretend executable");
        await File.WriteAllTextAsync(Path.Combine(dir, "sbom.cdx.json"), """{"bomFormat":"CycloneDX"}""");
        var (privateKey, publicKey) = Ed25519Signatures.Generate();
        object Entry(string name) => new
        {
            name, sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, name)))),
            bytes = new FileInfo(Path.Combine(dir, name)).Length,
        };
        var manifest = Path.Combine(dir, "release-manifest.json");
        await File.WriteAllTextAsync(manifest, JsonSerializer.Serialize(new
        {
            format = "aetherra-release.v1", version = "1.2.3", commit = new string('a', 40),
            artifacts = new[] { Entry("aetherra-linux-x64.tar.gz") }, sbom = Entry("sbom.cdx.json"),
            publicKey = Convert.ToBase64String(publicKey),
        }, new JsonSerializerOptions { WriteIndented = true }));
        await File.WriteAllTextAsync(manifest + ".sig", ReleaseCommand.Sign(await File.ReadAllBytesAsync(manifest), privateKey));
        return (manifest, publicKey, privateKey, dir);
    }

    [Fact]
    public async Task a_signed_release_verifies_and_any_one_byte_change_to_its_manifest_is_rejected()
    {
        var (manifest, publicKey, _, dir) = await MakeReleaseAsync();
        var key = Convert.ToBase64String(publicKey);
        Assert.Empty(await ReleaseCommand.VerifyAsync(manifest, key, manifestOnly: false));

        var original = await File.ReadAllBytesAsync(manifest);
        for (var i = 0; i < original.Length; i++)
        {
            var changed = (byte[])original.Clone();
            changed[i] ^= 0x01;
            await File.WriteAllBytesAsync(manifest, changed);
            Assert.NotEmpty(await ReleaseCommand.VerifyAsync(manifest, key, manifestOnly: false));
        }
        await File.WriteAllBytesAsync(manifest, original);
        Assert.Empty(await ReleaseCommand.VerifyAsync(manifest, key, manifestOnly: false));
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>The .sig file as `release sign` writes it (with its newline): no byte of it can change unnoticed, the
    /// newline and the base64 padding included (a decoder that skips whitespace or a trimmed read would accept some).</summary>
    [Fact]
    public async Task any_one_byte_change_to_the_signature_file_is_rejected()
    {
        var (manifest, publicKey, privateKey, dir) = await MakeReleaseAsync();
        var key = Convert.ToBase64String(publicKey);
        await File.WriteAllTextAsync(manifest + ".sig", ReleaseCommand.Sign(await File.ReadAllBytesAsync(manifest), privateKey) + "\n");
        Assert.Empty(await ReleaseCommand.VerifyAsync(manifest, key, manifestOnly: false));

        var original = await File.ReadAllBytesAsync(manifest + ".sig");
        Assert.Equal(89, original.Length);
        for (var i = 0; i < original.Length; i++)
            foreach (var flip in new byte[] { 0x01, 0x20, 0x04 })
            {
                var changed = (byte[])original.Clone();
                changed[i] ^= flip;
                await File.WriteAllBytesAsync(manifest + ".sig", changed);
                Assert.NotEmpty(await ReleaseCommand.VerifyAsync(manifest, key, manifestOnly: false));
            }
        await File.WriteAllBytesAsync(manifest + ".sig", [.. original, (byte)'\n']);
        Assert.NotEmpty(await ReleaseCommand.VerifyAsync(manifest, key, manifestOnly: false));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task a_changed_artifact_or_another_release_key_is_rejected()
    {
        var (manifest, publicKey, _, dir) = await MakeReleaseAsync();
        var (_, otherKey) = Ed25519Signatures.Generate();
        Assert.Contains(await ReleaseCommand.VerifyAsync(manifest, Convert.ToBase64String(otherKey), manifestOnly: false),
            p => p.Contains("signature"));

        var artifact = Path.Combine(dir, "aetherra-linux-x64.tar.gz");
        var bytes = await File.ReadAllBytesAsync(artifact);
        bytes[0] ^= 0x20;
        await File.WriteAllBytesAsync(artifact, bytes);
        Assert.Contains(await ReleaseCommand.VerifyAsync(manifest, Convert.ToBase64String(publicKey), manifestOnly: false),
            p => p.Contains("aetherra-linux-x64.tar.gz: SHA-256"));
        File.Delete(Path.Combine(dir, "sbom.cdx.json"));
        Assert.Contains(await ReleaseCommand.VerifyAsync(manifest, Convert.ToBase64String(publicKey), manifestOnly: false),
            p => p.Contains("sbom.cdx.json is missing"));
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>The command line itself, as an operator runs it on a download: exit 0, then 1 after a change.</summary>
    [Fact]
    public async Task the_release_verify_command_exits_0_on_a_good_release_and_1_on_a_changed_one()
    {
        var (manifest, publicKey, _, dir) = await MakeReleaseAsync();
        var env = new Dictionary<string, string?>();
        var good = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "release", "verify", manifest, "--public-key", Convert.ToBase64String(publicKey)], env, TestContext.Current.CancellationToken);
        Assert.True(good.ExitCode == 0, good.ToString());
        Assert.Contains("valid", good.Stdout);

        var text = await File.ReadAllTextAsync(manifest, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(manifest, text.Replace("1.2.3", "1.2.4"), TestContext.Current.CancellationToken);
        var bad = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "release", "verify", manifest, "--public-key", Convert.ToBase64String(publicKey)], env, TestContext.Current.CancellationToken);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("signature", bad.Stderr);
        Directory.Delete(dir, recursive: true);
    }
}

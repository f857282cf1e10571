using System.Text;
using Aetherra.Api.Scripts;
using Aetherra.Infrastructure.Crypto;

namespace Aetherra.Integration.Tests.Scripts;

/// <summary>`aetherra scripts check|sign|verify`: the publisher's side, without a server or database.</summary>
public sealed class ScriptsCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aether-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ScriptsCommand.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task check_names_each_problem_at_its_line_and_column_and_sign_then_verify_holds_until_one_byte_changes()
    {
        var bad = Path.Combine(_dir, "bad.aether");
        await File.WriteAllTextAsync(bad, "budget 5 steps 5 seconds\nlet = 1\n");
        var (code, output, _) = await RunAsync("check", bad);
        Assert.Equal(1, code);
        Assert.Contains($"{bad}:2:5: expected a name after 'let'", output);

        var script = Path.Combine(_dir, "ok.aether");
        await File.WriteAllTextAsync(script, "budget 5 steps 5 seconds\nlet found = recall(query: \"q\")\nemit found.count\n");
        Assert.Equal(0, (await RunAsync("check", script)).Code);
        var scoped = await RunAsync("check", script, "--scopes", "decisions:read");
        Assert.Equal(1, scoped.Code);
        Assert.Contains("needs the scope 'memory:read'", scoped.Out);

        var (privateKey, publicKey) = Ed25519Signatures.Generate();
        var keyFile = Path.Combine(_dir, "publisher.key");
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(privateKey));
        var body = Path.Combine(_dir, "body.json");
        Assert.Equal(0, (await RunAsync("sign", "--key", keyFile, "--name", "counter", script, "--out", body)).Code);
        var json = JsonDocument.Parse(await File.ReadAllTextAsync(body)).RootElement;
        Assert.Equal(Ed25519Signatures.KeyId(publicKey), json.GetProperty("publisherKeyId").GetString());
        Assert.Equal(await File.ReadAllTextAsync(script), json.GetProperty("source").GetString());
        Assert.Equal(0, (await RunAsync("verify", "--public-key", Convert.ToBase64String(publicKey), body)).Code);

        var tampered = (await File.ReadAllTextAsync(body)).Replace("found.count", "found.coun7", StringComparison.Ordinal);
        await File.WriteAllTextAsync(body, tampered, Encoding.UTF8);
        var refused = await RunAsync("verify", "--public-key", Convert.ToBase64String(publicKey), body);
        Assert.Equal(1, refused.Code);
        Assert.StartsWith("FAILED", refused.Out);
    }

    [Fact]
    public async Task a_bad_usage_prints_the_usage_and_exits_2()
    {
        var (code, _, err) = await RunAsync("sign", "x.aether");
        Assert.Equal(2, code);
        Assert.Contains("aetherra scripts check FILE.aether", err);
    }
}

namespace Aetherra.Integration.Tests.Operations;

/// <summary>The deployment files (Dockerfile, systemd unit, compose file) pass ops/lint-deploy.</summary>
public sealed class DeploymentLintTests
{
    [Fact]
    public async Task the_dockerfile_the_systemd_unit_and_the_compose_file_pass_their_linters()
    {
        var lint = await OpsScripts.RunAsync("bash", [OpsScripts.Script("lint-deploy")], new Dictionary<string, string?>(), TestContext.Current.CancellationToken);
        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Contains("lint passed", lint.Stderr);
    }
}

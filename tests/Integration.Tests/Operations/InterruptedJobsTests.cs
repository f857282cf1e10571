using Aetherra.Infrastructure.Jobs;
using Npgsql;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>At start a node fails only its own interrupted jobs: another node on the same machine has its own name (AETHERRA_NODE).</summary>
public sealed class InterruptedJobsTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_node_fails_its_own_interrupted_jobs_and_not_those_of_another_node_on_the_same_machine()
    {
        var db = fx.Host.Services.GetRequiredService<NpgsqlDataSource>();
        var ct = TestContext.Current.CancellationToken;
        var mine = Guid.CreateVersion7();
        var neighbour = Guid.CreateVersion7();
        var running = Guid.CreateVersion7();
        // An earlier process of this node, another node of this machine (its name extends this one's), and this process.
        foreach (var (id, node) in new[] { (mine, $"{JobRunner.NodeName}/999999"), (neighbour, $"{JobRunner.NodeName}-2/999999"), (running, JobRunner.Node) })
        {
            await using var insert = db.CreateCommand(
                "insert into aetherra.jobs (id, tenant_id, kind, node, status, started_at) values ($1, 't', 'test', $2, 'running', now())");
            insert.Parameters.Add(new() { Value = id });
            insert.Parameters.Add(new() { Value = node });
            await insert.ExecuteNonQueryAsync(ct);
        }

        await JobRunner.FailInterruptedAsync(db, ct);

        async Task<string> StatusAsync(Guid id)
        {
            await using var read = db.CreateCommand("select status from aetherra.jobs where id = $1");
            read.Parameters.Add(new() { Value = id });
            return (string)(await read.ExecuteScalarAsync(ct))!;
        }
        Assert.Equal("failed", await StatusAsync(mine));
        Assert.Equal("running", await StatusAsync(neighbour));
        Assert.Equal("running", await StatusAsync(running));
    }
}

namespace Aetherra.Integration.Tests.Operations;

/// <summary>GET /admin/cluster on the test host: itself as a node, and each cluster timer on exactly one node.</summary>
public sealed class ClusterReadTests(AetherraFixture fx)
{
    [Fact]
    public async Task the_cluster_lists_this_node_and_runs_each_timer_on_exactly_one_node()
    {
        var admin = fx.Client(fx.AdminKey);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            var response = await admin.GetAsync("/admin/cluster");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var cluster = await response.Json();
            var self = cluster.GetProperty("self").GetGuid();
            var nodes = cluster.GetProperty("nodes").EnumerateArray().ToList();
            var me = nodes.SingleOrDefault(n => n.GetProperty("nodeId").GetGuid() == self);
            string[] timers = ["aetherra-checkpoints://", "aetherra-vitals://", "aetherra-dead-letters://", "aetherra-self-snapshots://", "aetherra-hub-sync://"];
            var placed = timers.All(t => nodes.Count(n => n.GetProperty("agents").EnumerateArray().Any(a => a.GetString()!.StartsWith(t))) == 1);
            if (me.ValueKind == JsonValueKind.Object && placed)
            {
                Assert.True(me.GetProperty("self").GetBoolean());
                Assert.Equal(Environment.ProcessId, me.GetProperty("processId").GetInt32());
                Assert.False(string.IsNullOrEmpty(me.GetProperty("name").GetString()));
                Assert.Single(nodes, n => n.GetProperty("leader").GetBoolean());
                Assert.True(me.GetProperty("lastSeen").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
                return;
            }
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the timers were not placed within 60 s: {cluster}");
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task the_cluster_needs_the_operator_scope()
    {
        var key = await fx.NewTenantAsync("admin", "memory:read");
        await (await fx.Client(key.Key).GetAsync("/admin/cluster")).AssertProblem(HttpStatusCode.Forbidden);
    }
}

using Aetherra.Application.Homeostasis;
using Microsoft.Extensions.DependencyInjection;

namespace Aetherra.Integration.Tests;

/// <summary>GET /homeostasis/vitals/{name}/history: what the console's vitals charts draw.</summary>
[Collection(HomeostasisCollection.Name)]
public sealed class HomeostasisHistoryTests(AetherraFixture fx)
{
    private VitalsSampler Sampler => fx.Host.Services.GetRequiredService<VitalsSampler>();
    private HttpClient Admin => fx.Client(fx.AdminKey);

    [Fact]
    public async Task a_vitals_history_has_each_sample_of_the_window_with_the_setpoint_band()
    {
        var before = await PointsAsync();
        for (var i = 0; i < 3; i++) await Sampler.SampleOnceAsync(CancellationToken.None);

        var history = await (await Admin.GetAsync("/homeostasis/vitals/http.error-rate/history?window=hour")).Json();
        Assert.Equal("hour", history.GetProperty("window").GetString());
        Assert.Equal(0.05, history.GetProperty("setpoint").GetProperty("max").GetDouble());
        var node = Assert.Single(history.GetProperty("nodes").EnumerateArray());
        var points = await PointsAsync();
        Assert.True(points >= before + 3, $"{points} points after 3 samples, {before} before");
        var times = node.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
        Assert.All(times, t => Assert.True(t >= history.GetProperty("from").GetDateTimeOffset()));
    }

    private async Task<int> PointsAsync()
    {
        var response = await Admin.GetAsync("/homeostasis/vitals/database.size/history?window=day");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Json()).GetProperty("nodes").EnumerateArray().Sum(n => n.GetProperty("points").GetArrayLength());
    }

    [Fact]
    public async Task a_bad_window_or_an_unknown_vital_is_refused_and_the_history_needs_its_scope()
    {
        var bad = await Admin.GetAsync("/homeostasis/vitals/database.size/history?window=month");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("window", await bad.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await Admin.GetAsync("/homeostasis/vitals/database.size/history?node=a%00b")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("/homeostasis/vitals/no.such.vital/history")).StatusCode);

        var other = fx.Client((await fx.NewTenantAsync("memory:read")).Key);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync("/homeostasis/vitals/database.size/history")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client().GetAsync("/homeostasis/vitals/database.size/history")).StatusCode);
    }

    [Fact]
    public async Task whoami_names_the_key_its_tenant_and_what_its_scopes_grant()
    {
        var t = await fx.NewTenantAsync("memory:read", "audit:read");
        var me = await (await fx.Client(t.Key).GetAsync("/whoami")).Json();
        Assert.Equal(t.Tenant, me.GetProperty("tenant").GetString());
        Assert.Equal(t.KeyId.ToString(), me.GetProperty("keyId").GetString());
        Assert.Equal(["memory:read", "audit:read"], me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["memory:read", "audit:read"], me.GetProperty("grants").EnumerateArray().Select(s => s.GetString()));

        // A tenant's administrator passes every scope of its tenant, never the installation's.
        var tenantAdmin = await fx.NewTenantAsync("admin");
        var admin = await (await fx.Client(tenantAdmin.Key).GetAsync("/whoami")).Json();
        var grants = admin.GetProperty("grants").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Contains("decisions:approve", grants);
        Assert.DoesNotContain("operator", grants);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client().GetAsync("/whoami")).StatusCode);
    }
}

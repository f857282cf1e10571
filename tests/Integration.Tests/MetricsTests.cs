namespace Aetherra.Integration.Tests;

public sealed class MetricsTests(AetherraFixture fx)
{
    /// <summary>
    /// On a server of its own, as in production (one host per process): in this test process the in-process fake
    /// plugin and model servers come and go, and ASP.NET Core's meters of the same names (HTTP, Kestrel) are
    /// withdrawn from the fixture's exporter with them.
    /// </summary>
    [Fact]
    public async Task metrics_are_prometheus_text_open_to_scrapers_with_http_store_and_recall_instruments()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await fx.StartLoopbackServerAsync(ct: ct);
        var key = await server.NewKeyAsync("metrics", "metrics-tenant", ["memory:read", "memory:write"], ct);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var written = await http.PostAsJsonAsync("/memories", Api.Memory("Pia sings in a choir"), ct);
        Assert.Equal(HttpStatusCode.Created, written.StatusCode);
        var sequence = (await written.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("sequence").GetInt64();
        // A fresh server's recall answers 503 (after waiting 5 s for minSequence) until its projection runs: a client asks again.
        var deadline = DateTime.UtcNow.AddSeconds(120);
        HttpResponseMessage recalled;
        while ((recalled = await http.PostAsJsonAsync("/recall", new { query = "choir", minSequence = sequence }, ct)).StatusCode
               == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline) { }
        Assert.Equal(HttpStatusCode.OK, recalled.StatusCode);

        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        var response = await anonymous.GetAsync("/metrics", ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
        var text = await response.Content.ReadAsStringAsync(ct);
        var families = string.Join(' ', text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]));
        foreach (var expected in new[] { "http_server_request_duration_seconds_bucket", "marten_event_append_events_total",
                     "aetherra_recall_duration_milliseconds_count", "db_client_operation_duration_seconds" })
            Assert.True(text.Contains(expected, StringComparison.Ordinal), $"{expected} is not in /metrics; its families: {families}");
        HostingHttp.AssertAbsentFrom("metrics-tenant", text);
    }

    /// <summary>Issue 13: /metrics showed tenant names and their activity to anyone.</summary>
    [Fact]
    public async Task metrics_name_no_tenant_without_an_operator_key_and_keep_the_totals()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write", "admin");
        for (var i = 0; i < 3; i++) await fx.Client(key.Key).RecordAsync(Api.Memory($"Pia sings in choir {i}"));

        var anonymous = await (await fx.Client().GetAsync("/metrics")).Content.ReadAsStringAsync();
        var tenantAdmin = await (await fx.Client(key.Key).GetAsync("/metrics")).Content.ReadAsStringAsync();
        var operatorView = await (await fx.Client(fx.AdminKey).GetAsync("/metrics")).Content.ReadAsStringAsync();

        HostingHttp.AssertAbsentFrom(key.Tenant, anonymous);
        HostingHttp.AssertAbsentFrom(key.Tenant, tenantAdmin);
        Assert.Contains(key.Tenant, operatorView);
        Assert.Contains("marten_event_append_events_total", anonymous);
    }

    [Fact]
    public void redaction_drops_tenant_labels_and_sums_the_series_that_then_coincide()
    {
        const string text = """
            # TYPE appended_total counter
            appended_total{event_type="a",tenant="t-one"} 2 1700000000000
            appended_total{event_type="a",tenant="t-two"} 3 1700000000000
            appended_total{event_type="b",tenant="t-one"} 1 1700000000000
            lone_total{tenant_id="t-one"} 4
            plain_gauge 7.5
            # EOF
            """;

        var redacted = Aetherra.Api.Hosting.MetricsRedaction.Redact(text);

        Assert.Equal("""
            # TYPE appended_total counter
            appended_total{event_type="a"} 5 1700000000000
            appended_total{event_type="b"} 1 1700000000000
            lone_total 4
            plain_gauge 7.5
            # EOF
            """, redacted);
    }
}

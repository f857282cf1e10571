namespace Aetherra.Integration.Tests;

public sealed class MetricsTests(AetherraFixture fx)
{
    [Fact]
    public async Task metrics_are_prometheus_text_open_to_scrapers_with_http_store_and_recall_instruments()
    {
        var key = await fx.NewTenantAsync("memory:read", "memory:write");
        var (_, sequence) = await fx.Client(key.Key).RecordAsync(Api.Memory("Pia sings in a choir"));
        Assert.NotEmpty(await fx.Client(key.Key).RecallAsync(new { query = "choir", minSequence = sequence }));

        var response = await fx.Client().GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("http_server_request_duration_seconds_bucket", text);
        Assert.Contains("marten_event_append_events_total", text);
        Assert.Contains("aetherra_recall_duration_milliseconds_count", text);
        Assert.Contains("db_client_operation_duration_seconds", text);
    }
}

namespace Aetherra.Integration.Tests;

/// <summary>
/// Issue 13: every client JSON error was logged at error level with a stack trace (3.5 MB of log in 25 minutes).
/// A client's mistake is a warning of one line; errors and stack traces are for faults of ours.
/// </summary>
public sealed class ClientErrorLoggingTests(AetherraFixture fx)
{
    [Fact]
    public async Task client_errors_log_at_warning_without_stack_traces()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await fx.StartLoopbackServerAsync(ct: ct);
        try
        {
            await SendClientErrorsAsync(server, ct);
        }
        finally
        {
            await server.DisposeAsync();
        }

        var log = await File.ReadAllLinesAsync(server.LogFile, ct);
        Assert.DoesNotContain(log, l => l.Contains(" ERR]", StringComparison.Ordinal) || l.Contains(" FTL]", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        var warnings = log.Where(l => l.Contains(" WRN]", StringComparison.Ordinal)).ToList();
        Assert.Contains(warnings, l => l.Contains("deserialize JSON", StringComparison.Ordinal) && l.Contains("/memories", StringComparison.Ordinal));
        Assert.True(warnings.Count(l => l.Contains("POST /memories answered 400", StringComparison.Ordinal)) >= 6, string.Join("\n", log.TakeLast(40)));
    }

    private static async Task SendClientErrorsAsync(ServerProcess server, CancellationToken ct)
    {
        var key = await server.NewKeyAsync("errors", "errors-tenant", ["memory:read", "memory:write"], ct);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);

        string[] bodies = ["{", "{\"content\": 5}", "[1,2]", "{\"content\":\"x\",\"subject\":\"s\",\"agent\":\"a\",\"kind\":\"fact\",\"importance\":\"high\"}",
            "\"just a string\"", "{\"content\":\"x\"\"subject\":1}"];
        foreach (var body in bodies)
        {
            var response = await http.PostAsync("/memories", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        var recall = await http.PostAsync("/recall", new StringContent("{\"limit\": \"ten\"}", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.BadRequest, recall.StatusCode);
        var ok = await http.GetAsync("/memories/" + Guid.NewGuid(), ct);
        Assert.Equal(HttpStatusCode.NotFound, ok.StatusCode);
    }
}

using System.Diagnostics;
using System.Net.Http;
using System.Text.Json;
using Aetherra.Domain.Plugins;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Aetherra.Application.Plugins;

/// <summary>What a call to a plugin came to: its output, or the class of its failure, and how long it took.</summary>
public sealed record PluginCallOutcome(JsonElement? Output, int? Status, string? ErrorClass, string? Error, double DurationMs)
{
    public bool Succeeded => ErrorClass is null;
}

/// <summary>
/// The plugin protocol: POST to the manifest's endpoint with JSON <c>{invocationId, capability, input}</c>; a plugin
/// answers 200 with JSON <c>{output}</c> (any JSON value) of at most the configured size. Anything else is a
/// failure of a known class; this type never throws for the plugin's behaviour, so every call can be recorded.
/// </summary>
public sealed class PluginInvoker(IHttpClientFactory clients, PluginSettings settings, TimeProvider clock)
{
    public async Task<PluginCallOutcome> CallAsync(
        string tenant, Plugin plugin, Guid invocationId, string capability, JsonElement? input, CancellationToken ct)
    {
        var started = clock.GetTimestamp();
        double Elapsed() => clock.GetElapsedTime(started).TotalMilliseconds;
        var endpoint = new Uri(plugin.Manifest.Endpoint);
        if (!settings.Hosts.Allows(endpoint))
            return new(null, null, InvocationErrors.HostNotAllowed, $"the endpoint host '{endpoint.Authority}' is no longer in the allowlist", 0);

        // The whole call, headers and body, ends within the timeout (the pipeline's own timeout covers the headers).
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(settings.Timeout);
        // Buffered, so the request has a Content-Length: simple plugin servers do not read chunked bodies.
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new { invocationId, capability, input }, JsonSerializerOptions.Web));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
        request.Headers.Add("Aetherra-Invocation-Id", invocationId.ToString());
        request.Options.Set(PluginConfiguration.BreakerKey, $"{tenant}/{plugin.PluginId}");
        try
        {
            using var response = await clients.CreateClient(PluginConfiguration.HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
                return new(null, status, InvocationErrors.Redirect,
                    $"the plugin redirected to '{response.Headers.Location}'; plugin calls never follow redirects", Elapsed());
            if (status != 200)
                return new(null, status, InvocationErrors.HttpStatus, $"the plugin answered {status}", Elapsed());
            if (response.Content.Headers.ContentLength > settings.MaxResponseBytes)
                return TooLarge(status, Elapsed());
            var body = await ReadBoundedAsync(response, deadline.Token);
            if (body is null) return TooLarge(status, Elapsed());
            return Parse(body) is { } output
                ? new(output, status, null, null, Elapsed())
                : new(null, status, InvocationErrors.BadResponse, "the plugin's answer is not a JSON object with an 'output' member", Elapsed());
        }
        catch (BrokenCircuitException)
        {
            return new(null, null, InvocationErrors.CircuitOpen, "the plugin's circuit breaker is open after repeated failures", Elapsed());
        }
        catch (Exception e) when (e is TimeoutRejectedException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return new(null, null, InvocationErrors.Timeout, $"no answer within {settings.Timeout.TotalMilliseconds:0} ms", Elapsed());
        }
        catch (OperationCanceledException)
        {
            return new(null, null, InvocationErrors.Cancelled, "the caller went away before the plugin answered", Elapsed());
        }
        catch (HttpRequestException e)
        {
            return new(null, null, InvocationErrors.Unreachable, $"the plugin could not be reached ({e.HttpRequestError})", Elapsed());
        }

        PluginCallOutcome TooLarge(int status, double ms) =>
            new(null, status, InvocationErrors.TooLarge, $"the plugin's answer is larger than {settings.MaxResponseBytes} bytes", ms);
    }

    /// <summary>The body, or null when it is longer than the bound (read no further than one byte past it).</summary>
    private async Task<byte[]?> ReadBoundedAsync(HttpResponseMessage response, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await stream.ReadAsync(chunk, ct)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > settings.MaxResponseBytes) return null;
        }
        return buffer.ToArray();
    }

    private static JsonElement? Parse(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("output", out var output)
                ? output.Clone()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using Aetherra.Application.Common;
using Aetherra.Domain;
using Aetherra.Domain.Plugins;
using Aetherra.Infrastructure.Crypto;
using Marten;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Aetherra.Application.Plugins.Hub;

public sealed record HubSyncResult(
    Guid Id, string Status, string? Reason, IReadOnlyList<string> Offered, IReadOnlyList<HubRefusedManifest> Refused, long Sequence);

/// <summary>
/// Syncs a source: fetches its catalogue through the plugins' resilient HTTP client (no redirects, retry of
/// connections never made, a breaker per source, a timeout), checks it (<see cref="HubCatalogue.CheckAsync"/>) and
/// records what it found as events with the command's audit, in one transaction. A refused catalogue is recorded
/// too, and then answered as refused (422 with the reason): the refusal is a fact of the source's history.
/// </summary>
public sealed class HubSync(IHttpClientFactory clients, PluginSettings settings, MasterKey master, IDocumentStore store, TimeProvider clock)
{
    public async Task<HubSyncResult> SyncAsync(Guid id, CommandContext command, CancellationToken ct)
    {
        await using var session = store.OpenFor(command);
        var stream = await session.Events.FetchForWriting<HubSource>(id, ct);
        var source = stream.Aggregate ?? throw new NotFound("hub source");
        var (body, failure) = await FetchAsync(source, command.Tenant, ct);
        var check = failure is not null ? HubCatalogueCheck.Refusing(failure) : await HubCatalogue.CheckAsync(body!, source, session, ct);
        var now = clock.GetUtcNow();
        stream.AppendMany(HubDecisions.Sync(source, check, now));
        long sequence;
        try
        {
            sequence = await session.CommitAsync(command, id.ToString(), check.Refusal is null ? Outcome.Done : Outcome.Refused, now, ct, check.Refusal);
        }
        catch (Exception e) when (ConflictPolicy.IsConflict(e))
        {
            throw new DomainRuleViolated($"hub source {id} changed while it was being synced; retry");
        }
        return new HubSyncResult(id, check.Refusal is null ? "synced" : "refused", check.Refusal,
            check.Offers.Select(o => o.PluginId).Distinct().ToList(), check.Refused, sequence);
    }

    private async Task<(byte[]? Body, string? Failure)> FetchAsync(HubSource source, string tenant, CancellationToken ct)
    {
        var url = new Uri(source.Url);
        if (!settings.Hosts.Allows(url)) return (null, $"the source host '{url.Authority}' is no longer in the plugin host allowlist");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(settings.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (source.WrappedAccessKey is { } wrapped)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer",
                Encoding.UTF8.GetString(master.Unwrap(Convert.FromBase64String(wrapped), AddHubSourceHandler.AccessKeyContext(tenant, source.Id))));
        request.Options.Set(PluginConfiguration.BreakerKey, $"{tenant}/hub/{source.Id}");
        try
        {
            using var response = await clients.CreateClient(PluginConfiguration.HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var status = (int)response.StatusCode;
            if (status != 200) return (null, $"the source answered {status} to GET {source.Url}" + (status is 401 or 403 ? " (is its access key valid, with plugins:read?)" : ""));
            if (response.Content.Headers.ContentLength > HubCatalogue.MaxBytes) return (null, $"the catalogue is larger than {HubCatalogue.MaxBytes} bytes");
            await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
            var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = await body.ReadAsync(chunk, deadline.Token)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > HubCatalogue.MaxBytes) return (null, $"the catalogue is larger than {HubCatalogue.MaxBytes} bytes");
            }
            return (buffer.ToArray(), null);
        }
        catch (BrokenCircuitException)
        {
            return (null, "the source's circuit breaker is open after repeated failures");
        }
        catch (Exception e) when (e is TimeoutRejectedException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return (null, $"no answer from the source within {settings.Timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException e)
        {
            return (null, $"the source could not be reached ({e.HttpRequestError})");
        }
    }
}

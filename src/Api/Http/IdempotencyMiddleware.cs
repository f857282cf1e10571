using System.Security.Cryptography;
using Aetherra.Api.Auth;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Idempotency;
using Aetherra.Infrastructure.Keys;

namespace Aetherra.Api.Http;

/// <summary>
/// <c>Idempotency-Key</c> on any POST, PUT or DELETE: the first request with a key runs and its answer is
/// kept; a retry gets that answer (same status, same body) without running again; the same key with another
/// request is 422. A request that failed on our side (5xx) or was rate limited (429) releases its key so a
/// retry can run it. A kept key
/// issue (its answer holds the key's secret, sealed) is replayed only while that key is live: once revoked,
/// the replay is 410 and the secret is never shown again.
/// </summary>
public sealed class IdempotencyMiddleware(RequestDelegate next, IdempotencyStore store, ApiKeyStore keys)
{
    public const string Header = "Idempotency-Key";
    private const int MaxKeyLength = 200;

    public async Task InvokeAsync(HttpContext context)
    {
        var key = context.Request.Headers[Header].ToString();
        // A body over the limit is refused further in (413) and kept nowhere: not worth reading to hash it.
        if (string.IsNullOrEmpty(key) || context.User.Identity?.IsAuthenticated != true || !IsWrite(context.Request.Method) || QueryOverPost.IsQuery(context)
            || context.Request.ContentLength > Hosting.AetherraHost.MaxRequestBytes)
        {
            await next(context);
            return;
        }
        if (key.Length > MaxKeyLength)
        {
            await Problems.Write(context, 400, "Invalid Idempotency-Key", $"An Idempotency-Key is at most {MaxKeyLength} characters.");
            return;
        }

        var tenant = context.User.Tenant();
        var hash = await RequestHashAsync(context.Request);
        switch (await store.ClaimAsync(tenant, key, hash, context.RequestAborted))
        {
            case IdempotencyClaim.Replay replay when await IssuedKeyRevokedAsync(context, replay):
                await Problems.Write(context, 410, "Key revoked",
                    "The key this request issued has since been revoked: its secret is not shown again.");
                return;
            case IdempotencyClaim.Replay replay:
                context.Response.StatusCode = replay.Status;
                context.Response.ContentType = replay.ContentType;
                context.Response.Headers["Idempotent-Replayed"] = "true";
                await context.Response.Body.WriteAsync(replay.Body, context.RequestAborted);
                return;
            case IdempotencyClaim.DifferentRequest:
                await Problems.Write(context, 422, "Idempotency-Key reused",
                    "This Idempotency-Key was already used with a different request.");
                return;
            case IdempotencyClaim.InProgress:
                context.Response.Headers.RetryAfter = "1";
                await Problems.Write(context, 409, "Request in progress",
                    "A request with this Idempotency-Key is still being processed; retry shortly.");
                return;
        }

        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        var completed = false;
        try
        {
            await next(context);
            // 429: not run, only refused for now; the retry must run it.
            completed = context.Response.StatusCode < 500 && context.Response.StatusCode != StatusCodes.Status429TooManyRequests;
        }
        finally
        {
            context.Response.Body = original;
            if (completed)
                await store.CompleteAsync(tenant, key, context.Response.StatusCode, context.Response.ContentType, buffer.ToArray(), CancellationToken.None);
            else
                await store.ReleaseAsync(tenant, key, CancellationToken.None);
        }
        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    private async Task<bool> IssuedKeyRevokedAsync(HttpContext context, IdempotencyClaim.Replay replay)
    {
        if (replay.Status != StatusCodes.Status201Created
            || context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName != KeyActions.Create)
            return false;
        using var body = System.Text.Json.JsonDocument.Parse(replay.Body);
        return !body.RootElement.TryGetProperty("id", out var id) || !id.TryGetGuid(out var keyId)
               || !await keys.IsLiveAsync(keyId, context.RequestAborted);
    }

    /// <summary>SHA-256 over method, path, query and body: "the same request" means all of them match.</summary>
    private static async Task<byte[]> RequestHashAsync(HttpRequest request)
    {
        request.EnableBuffering();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk)) > 0) sha.AppendData(chunk, 0, read);
        request.Body.Position = 0;
        return sha.GetHashAndReset();
    }

    private static bool IsWrite(string method) => HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);
}

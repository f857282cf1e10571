namespace Aetherra.Application.Ai;

/// <summary>What one attempt on one provider came to.</summary>
public sealed record ModelCall(
    string Provider, string Model, bool Succeeded, double LatencyMs, double? FirstTokenMs, int? TokensIn, int? TokensOut,
    string? ErrorClass, string? Error);

/// <summary>The failure classes of a model call (the fallback moves on for each of them before the first token).</summary>
public static class ModelErrors
{
    public const string Unreachable = "unreachable";
    public const string Timeout = "timeout";
    public const string RateLimited = "rate-limited";
    public const string ServerError = "server-error";
    public const string ClientError = "client-error";
    public const string BadResponse = "bad-response";
    public const string BrokenStream = "broken-stream";
    public const string CircuitOpen = "circuit-open";
}

namespace Aetherra.Api.Http;

/// <summary>
/// Marks a POST route that only reads (recall): it is neither audited as a command nor held by
/// Idempotency-Key, because it changes nothing.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class QueryOverPostAttribute : Attribute;

public static class QueryOverPost
{
    public static bool IsQuery(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<QueryOverPostAttribute>() is not null;
}

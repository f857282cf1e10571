using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ModelContextProtocol.Protocol;

namespace Aetherra.Api.Mcp;

/// <summary>The HTTP API's JSON (camelCase names, enums as camelCase strings), for tool arguments and results alike.</summary>
public static class McpJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver()
    };

    /// <summary>A tool's answer: the HTTP route's body as structured content, and a short text for the assistant to read.</summary>
    public static CallToolResult Result<T>(T value, string text) => new()
    {
        StructuredContent = JsonSerializer.SerializeToElement(value, Options),
        Content = [new TextContentBlock { Text = text }]
    };
}

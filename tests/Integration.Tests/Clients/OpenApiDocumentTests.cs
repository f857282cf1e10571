using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;

namespace Aetherra.Integration.Tests.Clients;

/// <summary>/openapi/v1.json: every route is in it, it is a valid OpenAPI document, and what clients rely on is right.</summary>
public sealed partial class OpenApiDocumentTests(AetherraFixture fx)
{
    // The console serves files, and /mcp speaks JSON-RPC (docs/mcp.md): neither is a REST operation.
    private static readonly string[] Undocumented = ["/health", "/metrics", "/openapi", "/docs", "/console", "/mcp"];

    private async Task<JsonElement> DocumentAsync()
    {
        var response = await fx.Client().GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task every_route_the_server_answers_is_in_the_document()
    {
        var paths = (await DocumentAsync()).GetProperty("paths");
        var routes = fx.Host.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Select(e => (Path: "/" + Constraint().Replace(e.RoutePattern.RawText!.TrimStart('/'), "{$1}"),
                Methods: e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []))
            .Where(r => r.Methods.Count > 0 && !Undocumented.Any(u => r.Path.StartsWith(u, StringComparison.Ordinal)))
            .ToList();
        Assert.True(routes.Count > 30, $"only {routes.Count} routes found");
        var missing = routes.SelectMany(r => r.Methods.Select(m => (r.Path, Method: m.ToLowerInvariant())))
            .Where(r => !paths.TryGetProperty(r.Path, out var item) || !item.TryGetProperty(r.Method, out _))
            .Select(r => $"{r.Method.ToUpperInvariant()} {r.Path}")
            .ToList();
        Assert.True(missing.Count == 0, "not in /openapi/v1.json: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task the_document_is_valid_openapi()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("aetherra-openapi-").FullName, "openapi.json");
        await File.WriteAllTextAsync(file, (await DocumentAsync()).GetRawText(), TestContext.Current.CancellationToken);
        // openapi-spec-validator (pip; ops/install-openapi-tools installs it).
        var result = await ChildProcess.RunAsync("python3", ["-m", "openapi_spec_validator", file], ct: TestContext.Current.CancellationToken);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task optional_fields_are_optional_numbers_are_numbers_and_errors_are_problems()
    {
        var doc = await DocumentAsync();
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        var record = schemas.GetProperty("RecordMemory");
        var required = record.GetProperty("required").EnumerateArray().Select(e => e.GetString()).ToHashSet();
        Assert.Equal(["agent", "content", "kind", "subject"], required.Order().ToArray());
        Assert.DoesNotContain("importance", required);
        Assert.DoesNotContain("tags", required);
        Assert.DoesNotContain("session", required);
        var importance = record.GetProperty("properties").GetProperty("importance").GetProperty("type");
        Assert.DoesNotContain("string", importance.EnumerateArray().Select(t => t.GetString()));
        Assert.False(doc.GetRawText().Contains("\"pattern\":\"^-?(?:0|[1-9]", StringComparison.Ordinal), "a number is documented as a string");

        var post = doc.GetProperty("paths").GetProperty("/memories").GetProperty("post");
        var responses = post.GetProperty("responses");
        Assert.Equal("#/components/schemas/RecordMemoryResult",
            responses.GetProperty("201").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        foreach (var status in new[] { "401", "403", "404", "409", "422", "429", "500", "503" })
            Assert.True(responses.GetProperty(status).GetProperty("content").TryGetProperty("application/problem+json", out _), status);
        Assert.Equal("Record a memory", post.GetProperty("summary").GetString());

        var bearer = doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", bearer.GetProperty("type").GetString());
        Assert.Equal("bearer", bearer.GetProperty("scheme").GetString());
        Assert.True(post.GetProperty("security")[0].TryGetProperty("Bearer", out _));
        Assert.False(schemas.TryGetProperty("IResult", out _));
        var keys = doc.GetProperty("paths").GetProperty("/admin/keys").GetProperty("post").GetProperty("responses");
        Assert.True(keys.TryGetProperty("201", out _));
        Assert.False(keys.TryGetProperty("200", out _));
    }

    [GeneratedRegex(@"\{([^}:?=]+)[^}]*\}")]
    private static partial Regex Constraint();
}

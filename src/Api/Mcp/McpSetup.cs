using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Aetherra.Api.Mcp;

/// <summary>
/// Aetherra as an MCP server: Streamable HTTP at <c>/mcp</c> (stateless: every POST carries its own Bearer key,
/// authenticated by the API's own scheme), or stdio for desktop clients (<see cref="McpStdio"/>).
/// </summary>
public static class McpSetup
{
    public const string Route = "/mcp";

    public static IMcpServerBuilder AddAetherraMcp(this IServiceCollection services)
    {
        services.AddScoped<McpCall>();
        services.AddSingleton<McpPrimitives>();
        services.AddOptions<McpServerOptions>().Configure<McpPrimitives>((o, primitives) =>
        {
            o.ToolCollection ??= [];
            foreach (var tool in primitives.Tools) o.ToolCollection.TryAdd(tool);
            o.ResourceCollection ??= [];
            foreach (var resource in primitives.Resources) o.ResourceCollection.TryAdd(resource);
            o.PromptCollection ??= [];
            foreach (var prompt in primitives.Prompts) o.PromptCollection.TryAdd(prompt);
        });
        return services.AddMcpServer(o =>
            {
                o.ServerInfo = new Implementation { Name = "aetherra", Version = typeof(McpSetup).Assembly.GetName().Version?.ToString() ?? "1.0" };
                o.ServerInstructions =
                    "Aetherra is this assistant's long-term memory, decision governor and audit trail. Recall before answering " +
                    "anything that may depend on what is known about a user or subject; remember facts, preferences and " +
                    "instructions worth keeping; propose consequential actions with propose_decision and report their outcome.";
            })
            .WithRequestFilters(McpGate.Add)
            .WithRequestFilters(McpGate.AddReads);
    }

    public static void AddAetherraMcpHttp(this IServiceCollection services) =>
        services.AddAetherraMcp().WithHttpTransport(o => o.SessionMode = HttpServerSessionMode.Stateless);

    public static void MapAetherraMcp(this WebApplication app) => app.MapMcp(Route);
}

/// <summary>
/// The tools, resources and prompt, made once: stateless HTTP builds the server's options on every request, and
/// making a tool (its JSON schemas) costs far more than a call. Made with the provider that tells their service
/// parameters (injected) from their arguments (in the schema); the SDK's WithTools(types) registered none (2.4.0).
/// </summary>
public sealed class McpPrimitives(IServiceProvider provider)
{
    public IReadOnlyList<McpServerTool> Tools { get; } = McpCatalogue.Methods
        .Select(m => McpServerTool.Create(m, options: new McpServerToolCreateOptions { Services = provider, SerializerOptions = McpJson.Options }))
        .ToList();

    public IReadOnlyList<McpServerResource> Resources { get; } = Marked<McpServerResourceAttribute>()
        .Select(m => McpServerResource.Create(m, target: null!,
            options: new McpServerResourceCreateOptions { Services = provider, SerializerOptions = McpJson.Options }))
        .ToList();

    public IReadOnlyList<McpServerPrompt> Prompts { get; } = Marked<McpServerPromptAttribute>()
        .Select(m => McpServerPrompt.Create(m, target: null!,
            options: new McpServerPromptCreateOptions { Services = provider, SerializerOptions = McpJson.Options }))
        .ToList();

    private static IEnumerable<System.Reflection.MethodInfo> Marked<T>() where T : Attribute =>
        typeof(MemoryResources).GetMethods().Where(m => m.IsStatic && m.GetCustomAttributes(typeof(T), false).Length > 0);
}

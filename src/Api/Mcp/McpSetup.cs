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
        // The tools are made here, with the provider that tells their service parameters (injected) from their
        // arguments (in the JSON schema): the SDK's WithTools(types) registered none of them (2.4.0).
        services.AddOptions<McpServerOptions>().Configure<IServiceProvider>((o, provider) =>
        {
            o.ToolCollection ??= [];
            foreach (var method in McpCatalogue.Methods)
                o.ToolCollection.TryAdd(McpServerTool.Create(method, options: new McpServerToolCreateOptions
                {
                    Services = provider,
                    SerializerOptions = McpJson.Options
                }));
        });
        return services.AddMcpServer(o =>
            {
                o.ServerInfo = new Implementation { Name = "aetherra", Version = typeof(McpSetup).Assembly.GetName().Version?.ToString() ?? "1.0" };
                o.ServerInstructions =
                    "Aetherra is this assistant's long-term memory, decision governor and audit trail. Recall before answering " +
                    "anything that may depend on what is known about a user or subject; remember facts, preferences and " +
                    "instructions worth keeping; propose consequential actions with propose_decision and report their outcome.";
            })
            .WithRequestFilters(McpGate.Add);
    }

    public static void AddAetherraMcpHttp(this IServiceCollection services) =>
        services.AddAetherraMcp().WithHttpTransport(o => o.SessionMode = HttpServerSessionMode.Stateless);

    public static void MapAetherraMcp(this WebApplication app) => app.MapMcp(Route);
}

using System.Security.Claims;
using Aetherra.Api.Auth;
using Aetherra.Infrastructure.Keys;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Aetherra.Api.Hosting;

/// <summary>
/// <c>aetherra mcp --stdio</c>: the MCP server on stdin/stdout for desktop clients, as the key in
/// <c>AETHERRA_KEY</c>. The same host as the HTTP server (store, projections, use cases) but listening on no
/// port. Stdout carries only MCP JSON-RPC: everything else the process would print (logs, banners) goes to stderr.
/// </summary>
public static class McpStdio
{
    public const string KeyVariable = "AETHERRA_KEY";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["--stdio"])
        {
            Console.Error.WriteLine("usage: aetherra mcp --stdio   (the API key in AETHERRA_KEY; for MCP over HTTP, POST to /mcp on the server)");
            return 2;
        }
        if (Environment.GetEnvironmentVariable(KeyVariable) is not { Length: > 0 } secret)
        {
            Console.Error.WriteLine($"{KeyVariable} must hold the API key the MCP client acts as.");
            return 2;
        }

        var stdout = Console.OpenStandardOutput();
        Console.SetOut(Console.Error);
        // The log writer opens its stream itself (it does not go through Console.Out): told so, it writes standard error.
        Environment.SetEnvironmentVariable("AETHERRA_LOG_TO_STDERR", "1");

        var builder = WebApplication.CreateBuilder([]);
        builder.AddAetherra();
        builder.Services.AddSingleton<IServer, NoServer>();
        builder.Services.AddSingleton(new StdioKey(secret));
        builder.Services.AddMcpServer()
            .WithStreamServerTransport(Console.OpenStandardInput(), stdout)
            .WithMessageFilters(f => f.AddIncomingFilter(next => async (context, ct) =>
            {
                // Every message acts as the one key; the request filters then see it as HTTP's authenticated user.
                var key = (context.Services ?? context.Server.Services)!.GetRequiredService<StdioKey>();
                context.User ??= await key.PrincipalAsync(context.Server.Services!, ct);
                await next(context, ct);
            }));
        var app = builder.Build();
        app.UseAetherra();
        await app.RunAsync();
        return 0;
    }

    /// <summary>The key of AETHERRA_KEY, looked up once (after start-up, when the key store is ready).</summary>
    private sealed class StdioKey(string secret)
    {
        private ClaimsPrincipal? _principal;

        public async Task<ClaimsPrincipal> PrincipalAsync(IServiceProvider services, CancellationToken ct) =>
            _principal ??= await services.GetRequiredService<ApiKeyStore>().FindAsync(secret, ct) is { } key
                ? ApiKeyAuthentication.Principal(key)
                : throw new McpProtocolException($"{KeyVariable} holds no valid API key (unknown or revoked).", McpErrorCode.InvalidRequest);
    }

    /// <summary>The web host without a listener: stdio mode serves nothing over HTTP.</summary>
    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();
        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken ct) where TContext : notnull => Task.CompletedTask;
        public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
        public void Dispose() { }
    }
}

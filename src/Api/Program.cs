using Aetherra.Api.Hosting;
using JasperFx;

// The publisher's verbs need no server, database or keys of ours: they run before anything is configured.
if (args is ["plugins", .. var rest]) return await Aetherra.Api.Plugins.PluginsCommand.RunAsync(rest);
// MCP over stdio: stdout is the protocol's alone, so it must not go through the command line's banners.
if (args is ["mcp", .. var mcp]) return await Aetherra.Api.Mcp.McpStdio.RunAsync(mcp);

var builder = WebApplication.CreateBuilder(args);
builder.AddAetherra();
var app = builder.Build();
app.UseAetherra();
return await app.RunJasperFxCommands(args);

/// <summary>The entry point, visible to the integration tests' host.</summary>
public partial class Program;

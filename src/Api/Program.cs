using Aetherra.Api.Hosting;
using JasperFx;

var (route, rest) = CommandLine.Resolve(args);
switch (route)
{
    case CommandLine.Route.Help:
        Console.WriteLine(CommandLine.Help);
        return CommandLine.Ok;
    case CommandLine.Route.Unknown:
        return CommandLine.Unknown(args[0]);
    // The publisher's verbs need no server, database or keys of ours: they run before anything is configured.
    case CommandLine.Route.Plugins:
        return await Aetherra.Api.Plugins.PluginsCommand.RunAsync(rest);
    case CommandLine.Route.Scripts:
        return await Aetherra.Api.Scripts.ScriptsCommand.RunAsync(rest, Console.Out, Console.Error);
    case CommandLine.Route.Release:
        return await Aetherra.Api.Release.ReleaseCommand.RunAsync(rest);
    case CommandLine.Route.Changes:
        return await Aetherra.Api.Changes.ChangesCommand.RunAsync(rest, Console.Out, Console.Error);
    // MCP over stdio: stdout is the protocol's alone, so it must not go through the command line's banners.
    case CommandLine.Route.Mcp:
        return await Aetherra.Api.Hosting.McpStdio.RunAsync(rest);
}

CommandLine.QuietFramework();
// A verb's standard output is its result (tables, JSON lines): logs go to standard error, except the server's.
if (rest.Length > 0 && !rest[0].StartsWith('-') && !rest[0].Equals("run", StringComparison.OrdinalIgnoreCase))
    Environment.SetEnvironmentVariable("AETHERRA_LOG_TO_STDERR", "1");

var builder = WebApplication.CreateBuilder(rest);
builder.AddAetherra();
var app = builder.Build();
app.UseAetherra();
return await app.RunJasperFxCommands(rest);

/// <summary>The entry point, visible to the integration tests' host.</summary>
public partial class Program;

using Aetherra.Api.Hosting;
using JasperFx;

// The publisher's verbs need no server, database or keys of ours: they run before anything is configured.
if (args is ["plugins", .. var rest]) return await Aetherra.Api.Plugins.PluginsCommand.RunAsync(rest);
if (args is ["release", .. var release]) return await Aetherra.Api.Release.ReleaseCommand.RunAsync(release);

var builder = WebApplication.CreateBuilder(args);
builder.AddAetherra();
var app = builder.Build();
app.UseAetherra();
return await app.RunJasperFxCommands(args);

/// <summary>The entry point, visible to the integration tests' host.</summary>
public partial class Program;

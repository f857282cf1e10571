using Aetherra.Api.Hosting;
using JasperFx;

// The publisher's verbs need no server, database or keys of ours: they run before anything is configured.
if (args is ["plugins", .. var rest]) return await Aetherra.Api.Plugins.PluginsCommand.RunAsync(rest);
if (args is ["changes", .. var changeArgs]) return await Aetherra.Api.Changes.ChangesCommand.RunAsync(changeArgs, Console.Out, Console.Error);

var builder = WebApplication.CreateBuilder(args);
builder.AddAetherra();
var app = builder.Build();
app.UseAetherra();
return await app.RunJasperFxCommands(args);

/// <summary>The entry point, visible to the integration tests' host.</summary>
public partial class Program;

using Aetherra.Api.Hosting;
using JasperFx;

var builder = WebApplication.CreateBuilder(args);
builder.AddAetherra();
var app = builder.Build();
app.UseAetherra();
return await app.RunJasperFxCommands(args);

/// <summary>The entry point, visible to the integration tests' host.</summary>
public partial class Program;

using NSwag;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;

// aetherra-clientgen OPENAPI.json CLIENT.cs: the C# client of the document, with the settings README.md gives the nswag tool.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: aetherra-clientgen OPENAPI.json CLIENT.cs");
    return 2;
}
var document = await OpenApiDocument.FromJsonAsync(await File.ReadAllTextAsync(args[0]));
var settings = new CSharpClientGeneratorSettings
{
    ClassName = "AetherraClient",
    GenerateClientInterfaces = false,
    UseBaseUrl = true,
    OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
};
settings.CSharpGeneratorSettings.Namespace = "Aetherra.Client";
settings.CSharpGeneratorSettings.JsonLibrary = NJsonSchema.CodeGeneration.CSharp.CSharpJsonLibrary.SystemTextJson;
await File.WriteAllTextAsync(args[1], new CSharpClientGenerator(document, settings).GenerateFile());
return 0;

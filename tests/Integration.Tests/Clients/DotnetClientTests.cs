using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NSwag;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;

namespace Aetherra.Integration.Tests.Clients;

/// <summary>
/// A .NET client generated with NSwag from the running server's /openapi/v1.json, compiled, and used as an application
/// would: record a memory, then recall it, against the real server on a loopback socket.
/// </summary>
[Collection(ClientsCollection.Name)]
public sealed class DotnetClientTests(AetherraFixture fx)
{
    /// <summary>What an application writes against the generated client (README.md shows the same).</summary>
    private const string Application = """
        using System.Linq;
        using System.Net.Http;
        using System.Threading.Tasks;

        namespace Aetherra.Client;

        public static class Example
        {
            public static async Task<string> RecordAndRecallAsync(string baseUrl, HttpClient http)
            {
                var aetherra = new AetherraClient(http) { BaseUrl = baseUrl };
                var recorded = await aetherra.Memory_recordAsync(new RecordMemory
                {
                    Content = "Alice prefers green tea", Subject = "alice", Agent = "assistant", Kind = "preference",
                });
                // The read model follows a write a moment later: recall waits for MinSequence up to 5 s, then
                // answers 503 with Retry-After, and a client asks again.
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        var recalled = await aetherra.Memory_recallAsync(new RecallRequest
                        {
                            Query = "what does Alice like to drink?", Subject = "alice", MinSequence = recorded.Sequence,
                        });
                        return recalled.Results.First().Content;
                    }
                    catch (ApiException e) when (e.StatusCode == 503 && attempt < 10)
                    {
                        await Task.Delay(1000);
                    }
                }
            }
        }
        """;

    [Fact]
    public async Task a_generated_dotnet_client_records_and_recalls_a_memory()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await fx.StartLoopbackServerAsync(ct: ct);
        using var http = new HttpClient();
        var json = await http.GetStringAsync(new Uri(server.BaseAddress, "/openapi/v1.json"), ct);

        var code = Generate(json);
        var assembly = Compile(code, Application);

        var key = await server.NewKeyAsync("dotnet-client", "dotnet-client", ["memory:read", "memory:write"], ct);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var run = assembly.GetType("Aetherra.Client.Example")!.GetMethod("RecordAndRecallAsync")!;
        var content = await (Task<string>)run.Invoke(null, [server.BaseAddress.ToString().TrimEnd('/'), http])!;
        Assert.Equal("Alice prefers green tea", content);
    }

    /// <summary>The generator's settings, as a developer would pass them to the nswag tool (README.md).</summary>
    public static string Generate(string openApiJson)
    {
        var document = OpenApiDocument.FromJsonAsync(openApiJson).GetAwaiter().GetResult();
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = "AetherraClient",
            GenerateClientInterfaces = false,
            UseBaseUrl = true,
            OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
        };
        settings.CSharpGeneratorSettings.Namespace = "Aetherra.Client";
        settings.CSharpGeneratorSettings.JsonLibrary = NJsonSchema.CodeGeneration.CSharp.CSharpJsonLibrary.SystemTextJson;
        return new CSharpClientGenerator(document, settings).GenerateFile();
    }

    private static Assembly Compile(params string[] sources)
    {
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && a.Location.Length > 0)
            .Select(a => MetadataReference.CreateFromFile(a.Location));
        var compilation = CSharpCompilation.Create("Aetherra.Client.Generated",
            sources.Select(s => CSharpSyntaxTree.ParseText(s)), references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10).ToList();
        if (!emitted.Success)
        {
            var file = Path.Combine(Directory.CreateTempSubdirectory("aetherra-client-").FullName, "AetherraClient.cs");
            File.WriteAllText(file, sources[0]);
            Assert.Fail($"the generated client ({file}) does not compile:\n" + string.Join("\n", errors));
        }
        return Assembly.Load(image.ToArray());
    }
}

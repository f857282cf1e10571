using Aetherra.Application.Exports;
using Aetherra.Infrastructure.AuditLog;
using Aetherra.Infrastructure.Crypto;
using JasperFx.CommandLine;
using Marten;
using Npgsql;

namespace Aetherra.Api.Exports;

public sealed class ExportInput : NetCoreInput
{
    [Description("the tenant whose data is exported"), FlagAlias("tenant")]
    public string TenantFlag { get; set; } = "";

    [Description("comma-separated: conversations, decisions, memories"), FlagAlias("datasets")]
    public string DatasetsFlag { get; set; } = "decisions,memories";

    [Description("the global sequence to export as of (default: the last event the audit log covers)"), FlagAlias("as-of-sequence")]
    public long? AsOfSequenceFlag { get; set; }

    [Description("the directory to write the JSON Lines files and manifest.json into (created; must be empty)"), FlagAlias("out")]
    public string OutFlag { get; set; } = "";
}

/// <summary>
/// <c>aetherra export --tenant T --out DIR [--datasets conversations,decisions,memories] [--as-of-sequence N]</c>: a reproducible
/// training export (Application/Exports/TrainingExport.cs) written to a directory, as the operator's tool on the
/// store itself: the same files, byte for byte, as any other export of the tenant at that sequence.
/// </summary>
[Description("Write a reproducible training export of a tenant (JSON Lines + manifest)", Name = "export")]
public sealed class ExportCommand : JasperFxAsyncCommand<ExportInput>
{
    public override async Task<bool> Execute(ExportInput input)
    {
        if (input.TenantFlag.Length == 0 || input.OutFlag.Length == 0)
        {
            Console.Error.WriteLine("usage: export --tenant T --out DIR [--datasets conversations,decisions,memories] [--as-of-sequence N]");
            return false;
        }
        if (Directory.Exists(input.OutFlag) && Directory.EnumerateFileSystemEntries(input.OutFlag).Any())
        {
            Console.Error.WriteLine($"{input.OutFlag} is not empty");
            return false;
        }
        using var host = input.BuildHost();
        var services = host.Services;
        var datasets = input.DatasetsFlag.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        try
        {
            var (manifest, files) = await TrainingExport.BuildAsync(services.GetRequiredService<IDocumentStore>(),
                services.GetRequiredService<NpgsqlDataSource>(), services.GetRequiredService<SubjectKeyStore>(),
                services.GetRequiredService<AuditLogStore>(), input.TenantFlag, datasets, input.AsOfSequenceFlag, CancellationToken.None);
            await TrainingExport.WriteAsync(input.OutFlag, manifest, files, CancellationToken.None);
            foreach (var f in manifest.Files) Console.WriteLine($"{f.Name}  {f.Rows} rows  sha256 {f.Sha256}");
            Console.WriteLine($"as of sequence {manifest.AsOfSequence}: tree size {manifest.TreeSize}, root {manifest.RootHash}");
            return true;
        }
        catch (Domain.DomainRuleViolated e)
        {
            Console.Error.WriteLine(e.Message);
            return false;
        }
    }
}

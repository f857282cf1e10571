using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aetherra.Application.Common;
using Aetherra.Infrastructure.AuditLog;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.Jobs;
using FluentValidation;
using Marten;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Aetherra.Application.Exports;

/// <summary>POST /exports: the datasets, and the sequence to export as of (default: the last one the audit log covers).</summary>
public sealed record StartExport(IReadOnlyList<string>? Datasets, long? AsOfSequence);

public sealed record ExportStarted(Guid Id, long AsOfSequence);

/// <summary>GET /exports/{id}: the job's status and, once it succeeded, its manifest.</summary>
public sealed record ExportView(
    Guid Id, string Status, long? AsOfSequence, long? TreeSize, string? RootHash, IReadOnlyList<ExportManifestFile> Files,
    DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Error);

public sealed class StartExportValidator : AbstractValidator<StartExport>
{
    public StartExportValidator()
    {
        RuleFor(x => x.Datasets).NotEmpty()
            .Must(d => d is null || d.Distinct().Count() == d.Count).WithMessage("'Datasets' must not repeat a dataset.");
        RuleForEach(x => x.Datasets).Must(d => TrainingExport.Datasets.Contains(d))
            .WithMessage($"each dataset is one of {string.Join(", ", TrainingExport.Datasets)}.");
        RuleFor(x => x.AsOfSequence).GreaterThanOrEqualTo(1);
    }
}

/// <summary>
/// Where exports are written: AETHERRA_EXPORT_DIR, by default exports/ in the user's local data directory. Each
/// tenant has a directory of its own, named by a hash of the tenant (a tenant name never becomes a path), each export
/// one named by its id; a file is found by an exact name from the fixed set <see cref="TrainingExport.FileOf"/> gives.
/// </summary>
public sealed class ExportFiles(string root)
{
    public string Root { get; } = Path.GetFullPath(root);

    public static ExportFiles From(IConfiguration config)
    {
        if (config["AETHERRA_EXPORT_DIR"] is { Length: > 0 } dir) return new(dir);
        var data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return new(Path.Combine(data.Length > 0 ? data : Path.GetTempPath(), "aetherra", "exports"));
    }

    public string DirectoryOf(string tenant, Guid id) =>
        Path.Combine(Root, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(tenant)))[..32], id.ToString("N"));
}

/// <summary>Training exports over HTTP: a background job (aetherra.jobs) running <see cref="TrainingExport"/>, its files on disk.</summary>
public sealed class ExportJobs(
    IDocumentStore store, TenantDatabases databases, SubjectKeyStore keys, AuditLogs logs, JobRunner jobs, ExportFiles files)
{
    public const string Kind = "export";

    /// <summary>Checks the request (422 for a sequence the log does not cover yet), then starts the job as of a fixed sequence.</summary>
    public async Task<ExportStarted> StartAsync(StartExport body, string tenant, CancellationToken ct)
    {
        var datasets = body.Datasets!.Order(StringComparer.Ordinal).ToList();
        // The tenant's database and its Merkle log: the sequences of an export are that database's (docs/scaling.md).
        var db = databases.For(tenant);
        var log = logs.Of(tenant).Store;
        var asOf = await TrainingExport.ResolveAsync(log, datasets, body.AsOfSequence, ct);
        var id = await jobs.StartAsync(tenant, Kind, async (progress, stop) =>
        {
            await progress.ReportAsync(0, asOf, stop);
            var (manifest, built) = await TrainingExport.BuildAsync(store, db, keys, log, tenant, datasets, asOf, stop);
            // Written beside, then moved into place: a directory under the export's name is always complete.
            var dir = files.DirectoryOf(tenant, progress.Id);
            var partial = dir + ".partial";
            await TrainingExport.WriteAsync(partial, manifest, built, stop);
            Directory.Move(partial, dir);
            await progress.ReportAsync(asOf, asOf, stop);
            return manifest;
        }, ct);
        return new ExportStarted(id, asOf);
    }

    public async Task<ExportView> GetAsync(Guid id, string tenant, CancellationToken ct)
    {
        var job = await jobs.FindAsync(id, tenant, ct) is { Kind: Kind } found ? found : throw new NotFound("export");
        var manifest = job.Result?.Deserialize<ExportManifest>(JsonSerializerOptions.Web);
        // While it runs, the job's total is the sequence it was started as of.
        return new ExportView(job.Id, job.Status, manifest?.AsOfSequence ?? job.Total, manifest?.TreeSize, manifest?.RootHash,
            manifest?.Files ?? [], job.StartedAt, job.FinishedAt, job.Error);
    }

    /// <summary>The path of a file of a succeeded export of the tenant: a name its manifest lists, or manifest.json.</summary>
    public async Task<string> FileAsync(Guid id, string name, string tenant, CancellationToken ct)
    {
        var export = await GetAsync(id, tenant, ct);
        if (name != TrainingExport.ManifestName && !export.Files.Any(f => f.Name == name)) throw new NotFound("export file");
        var path = Path.Combine(files.DirectoryOf(tenant, id), name);
        // This node may not be the one that ran the export (files are local to it).
        return File.Exists(path) ? path : throw new NotFound("export file");
    }
}

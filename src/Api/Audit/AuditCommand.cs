using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Aetherra.Application.Audit;
using Aetherra.Infrastructure.AuditLog;
using JasperFx.CommandLine;
using Marten;

namespace Aetherra.Api.Audit;

public sealed class AuditInput : NetCoreInput
{
    [Description("verify: recompute the Merkle log from the stored events and check every checkpoint; replay: print the audit trail")]
    public string Verb { get; set; } = "";

    [Description("replay: only this actor (key id)"), FlagAlias("actor")]
    public string? ActorFlag { get; set; }

    [Description("replay: only commands on this stream / target"), FlagAlias("stream")]
    public string? StreamFlag { get; set; }

    [Description("replay: from this time (ISO 8601)"), FlagAlias("from")]
    public string? FromFlag { get; set; }

    [Description("replay: up to this time (ISO 8601)"), FlagAlias("to")]
    public string? ToFlag { get; set; }

    [Description("replay: table (default) or json (one object per line)"), FlagAlias("format")]
    public string FormatFlag { get; set; } = "table";

    [Description("verify: the log's public key (base64), to check checkpoints against a key obtained independently"), FlagAlias("public-key")]
    public string? PublicKeyFlag { get; set; }

    [Description("verify: the log's origin line, with --public-key"), FlagAlias("origin")]
    public string? OriginFlag { get; set; }
}

/// <summary><c>aetherra audit verify</c> and <c>aetherra audit replay</c>: the operator's view, over every tenant.</summary>
[Description("Verify the tamper-evident audit log, or replay the audit trail", Name = "audit")]
public sealed class AuditCommand : JasperFxAsyncCommand<AuditInput>
{
    public override async Task<bool> Execute(AuditInput input)
    {
        using var host = input.BuildHost();
        var services = host.Services;
        switch (input.Verb.ToLowerInvariant(), input.FormatFlag.ToLowerInvariant())
        {
            case ("verify", _):
                return await VerifyAsync(input, services.GetRequiredService<AuditLogs>(), services.GetRequiredService<AuditSigner>());
            case ("replay", "table" or "json"):
                return await ReplayAsync(input, services.GetRequiredService<IDocumentStore>());
            default:
                Console.Error.WriteLine("usage: audit verify [--public-key KEY --origin ORIGIN] | audit replay [--actor ID] [--stream ID] [--from TIME] [--to TIME] [--format table|json]");
                return false;
        }
    }

    /// <summary>Every database's tree (one without tenant placement), each under its own origin (AuditLogs).</summary>
    private static async Task<bool> VerifyAsync(AuditInput input, AuditLogs logs, AuditSigner signer)
    {
        var publicKey = input.PublicKeyFlag is { } given ? Convert.FromBase64String(given) : signer.PublicKey;
        var ok = true;
        foreach (var log in logs.All)
        {
            var origin = input.OriginFlag is { } o ? AuditLogs.OriginOf(o, log.Database) : log.Origin;
            var clock = Stopwatch.StartNew();
            var report = await log.VerifyAsync(origin, publicKey, (done, total) =>
                Console.Error.WriteLine($"verified {done:N0} of {total:N0} events ({(total == 0 ? 100 : done * 100 / total)}%), {done / Math.Max(clock.Elapsed.TotalSeconds, 1e-3):N0} events/s"),
                CancellationToken.None);
            Console.WriteLine(JsonSerializer.Serialize(report, Hosting.CommandLine.Json));
            var where = logs.All.Count > 1 ? $" ({log.Database} database)" : "";
            Console.Error.WriteLine(report.Ok
                ? $"OK{where}: {report.VerifiedEvents:N0} events and {report.Checkpoints} checkpoints verified in {clock.Elapsed.TotalSeconds:N1} s; root {report.RootHash}"
                : $"FAILED{where}{(report.FirstMismatch is { } s ? $" at sequence {s}" : "")}: {report.Problem}");
            ok &= report.Ok;
        }
        return ok;
    }

    private static async Task<bool> ReplayAsync(AuditInput input, IDocumentStore store)
    {
        var query = new AuditQuery(input.ActorFlag, null, input.StreamFlag, Time(input.FromFlag), Time(input.ToFlag), null, null);
        await using var session = store.QuerySession();
        var json = input.FormatFlag.Equals("json", StringComparison.OrdinalIgnoreCase);
        if (!json) Console.WriteLine($"{"sequence",10}  {"at",-27}  {"tenant",-18}  {"actor",-36}  {"action",-20}  {"outcome",-8}  status  target / reason");
        await foreach (var r in ReadAudit.Replay(session, query, allTenants: true, CancellationToken.None))
        {
            Console.WriteLine(json
                ? JsonSerializer.Serialize(r, Hosting.CommandLine.Json)
                : $"{r.Sequence,10}  {r.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),-27}  {r.Tenant,-18}  {r.Actor,-36}  {r.Action,-20}  {r.Outcome,-8}  {r.Status,6}  {r.Target}{(r.Reason is null ? "" : $"  ({r.Reason})")}");
        }
        return true;
    }

    private static DateTimeOffset? Time(string? text) =>
        text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}

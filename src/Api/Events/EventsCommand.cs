using System.Security.Cryptography;
using System.Text.Json;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.AuditLog;
using JasperFx.CommandLine;
using Npgsql;
using Spectre.Console;

namespace Aetherra.Api.Events;

public sealed class EventsInput : NetCoreInput
{
    [Description("export: write the event log as JSON Lines with a signed trailer; import: load such a file into an empty store")]
    public string Verb { get; set; } = "";

    [Description("import: the exported file to load"), FlagAlias("from")]
    public string? FromFlag { get; set; }

    [Description("import: the exporting log's public key (base64), obtained independently (GET /audit/public-key); default: the key the trailer names"), FlagAlias("public-key")]
    public string? PublicKeyFlag { get; set; }

    [Description("export: the file to write (\"-\": standard output; the progress bar then stays on standard error)"), FlagAlias("to")]
    public string? ToFlag { get; set; }

    [Description("export: the first global sequence to include (default 1: the whole log)"), FlagAlias("from-sequence")]
    public long? FromSequenceFlag { get; set; }
}

/// <summary>
/// <c>aetherra events export --to FILE [--from-sequence N]</c>: every event of every tenant, in global sequence order,
/// one JSON object a line with the row exactly as the audit log hashes it (the stored JSON as a string, the
/// timestamp in microseconds), then a trailer line: count, sequences, the Merkle tree's size and root at the last
/// exported event, and the audit log's signed checkpoint of that root. The export stops at the last event the
/// Merkle log covers, so the root covers every exported event: recomputing the leaves from the lines must give it.
/// Streams (constant memory); the progress bar goes to standard error. Each line also carries the event's id, user
/// and correlation id (not hashed), so that <c>aetherra events import --from FILE</c> (<see cref="EventImport"/>)
/// restores them.
/// </summary>
[Description("Export the event log as JSON Lines with a signed trailer, or import one into an empty store", Name = "events")]
public sealed class EventsCommand : JasperFxAsyncCommand<EventsInput>
{
    public const string Format = "aetherra-events.v1";

    public EventsCommand()
    {
        Usage("export or import").Arguments(x => x.Verb);
    }

    public override async Task<bool> Execute(EventsInput input)
    {
        if (input.Verb.Equals("import", StringComparison.OrdinalIgnoreCase) && input.FromFlag is { Length: > 0 } from)
            return await ImportAsync(input, from);
        if (!input.Verb.Equals("export", StringComparison.OrdinalIgnoreCase) || input.ToFlag is not { Length: > 0 } to)
        {
            Console.Error.WriteLine("usage: events export --to FILE|- [--from-sequence N] | events import --from FILE [--public-key KEY]");
            return false;
        }
        if (input.FromSequenceFlag is < 1)
        {
            Console.Error.WriteLine("--from-sequence must be 1 or more");
            return false;
        }
        using var host = input.BuildHost();
        var services = host.Services;
        var db = services.GetRequiredService<NpgsqlDataSource>();
        var log = services.GetRequiredService<AuditLogStore>();
        var signer = services.GetRequiredService<AuditSigner>();

        var (size, upTo) = await log.TipAsync(CancellationToken.None);
        var after = (input.FromSequenceFlag ?? 1) - 1;
        long total;
        await using (var count = db.CreateCommand($"select count(*) from {AetherraSettings.Schema}.mt_events where seq_id > $1 and seq_id <= $2"))
        {
            count.Parameters.Add(new() { Value = after });
            count.Parameters.Add(new() { Value = upTo });
            total = (long)(await count.ExecuteScalarAsync())!;
        }

        await using var file = to == "-" ? Console.OpenStandardOutput() : new FileStream(to, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var hashing = new HashingStream(file, sha);
        var written = 0L;
        var progress = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        await progress.Progress().AutoClear(false).StartAsync(async ctx =>
        {
            var task = ctx.AddTask($"exporting {total:N0} events", maxValue: Math.Max(total, 1));
            await using var connection = await db.OpenConnectionAsync();
            await using var writer = new Utf8JsonWriter(hashing);
            await foreach (var (e, id, user, correlation) in StoredEvents.ReadWithMetadataAsync(connection, after, upTo, CancellationToken.None))
            {
                writer.WriteStartObject();
                writer.WriteNumber("sequence", e.Sequence);
                writer.WriteString("streamId", e.StreamId);
                writer.WriteNumber("version", e.Version);
                writer.WriteString("type", e.Type);
                writer.WriteNumber("timestampMicros", e.TimestampMicros);
                writer.WriteString("tenant", e.Tenant);
                writer.WriteString("data", e.Data);
                writer.WriteString("id", id);
                if (user is not null) writer.WriteString("userName", user);
                if (correlation is not null) writer.WriteString("correlationId", correlation);
                writer.WriteEndObject();
                await writer.FlushAsync();
                writer.Reset();
                hashing.WriteByte((byte)'\n');
                if (++written % 1024 == 0) task.Value = written;
            }
            task.Value = Math.Max(total, 1);
        });

        var root = await log.RootAsync(size, CancellationToken.None);
        var trailer = new
        {
            trailer = new
            {
                format = Format, count = written, fromSequence = after + 1, lastSequence = upTo, treeSize = size,
                rootHash = Convert.ToBase64String(root), sha256 = Convert.ToHexStringLower(sha.GetHashAndReset()),
                origin = signer.Origin, publicKey = Convert.ToBase64String(signer.PublicKey), checkpoint = signer.Sign(size, root),
            },
        };
        await file.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(trailer));
        file.WriteByte((byte)'\n');
        Console.Error.WriteLine($"exported {written:N0} events (sequences {after + 1}..{upTo}); tree size {size}, root {trailer.trailer.rootHash}");
        return true;
    }

    /// <summary>
    /// Checks the file (no store touched), then imports it into the configured store, which must be empty, and
    /// rebuilds every projection; progress on standard error.
    /// </summary>
    private static async Task<bool> ImportAsync(EventsInput input, string from)
    {
        if (!File.Exists(from))
        {
            Console.Error.WriteLine($"{from} does not exist");
            return false;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        try
        {
            var key = input.PublicKeyFlag is { } given ? Convert.FromBase64String(given) : null;
            EventsTrailer? trailer = null;
            await console.Progress().AutoClear(false).StartAsync(async ctx =>
            {
                var check = ctx.AddTask("checking the file", maxValue: 1);
                check.IsIndeterminate = true;
                trailer = await EventImport.VerifyAsync(from, key, n => check.Description = $"checking the file: {n:N0} events", CancellationToken.None);
                check.IsIndeterminate = false;
                check.Value = 1;
            });
            Console.Error.WriteLine($"verified {trailer!.Count:N0} events: tree size {trailer.TreeSize}, root {trailer.RootHash}, signed by {trailer.Origin}" +
                                    (key is null ? " (with the key the trailer names: pass --public-key to check it is the log's)" : ""));

            using var host = input.BuildHost();
            var store = host.Services.GetRequiredService<Marten.IDocumentStore>();
            var db = host.Services.GetRequiredService<NpgsqlDataSource>();
            await console.Progress().AutoClear(false).StartAsync(async ctx =>
            {
                var copy = ctx.AddTask($"importing {trailer.Count:N0} events", maxValue: Math.Max(trailer.Count, 1));
                await EventImport.ImportAsync(from, store, db, n => copy.Value = n, CancellationToken.None);
                copy.Value = copy.MaxValue;
                var rebuild = ctx.AddTask("rebuilding the projections", maxValue: 1);
                rebuild.IsIndeterminate = true;
                await EventImport.RebuildAsync(store, db, name => rebuild.Description = $"rebuilding {name}", CancellationToken.None);
                rebuild.IsIndeterminate = false;
                rebuild.Value = 1;
                rebuild.Description = "rebuilt every projection";
            });
            Console.Error.WriteLine($"imported {trailer.Count:N0} events (sequences 1..{trailer.LastSequence}); `aetherra audit verify` should give root {trailer.RootHash} at size {trailer.TreeSize}");
            return true;
        }
        catch (Exception e) when (e is ImportRefused or FormatException)
        {
            Console.Error.WriteLine($"import refused: {e.Message}");
            return false;
        }
    }

    /// <summary>Writes through to the file while hashing what it writes: the trailer names the lines' SHA-256.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            hash.AppendData(buffer, offset, count);
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            hash.AppendData(buffer.Span);
            await inner.WriteAsync(buffer, ct);
        }

        // The file belongs to the caller, which writes the trailer after the lines.
        protected override void Dispose(bool disposing) { }
        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

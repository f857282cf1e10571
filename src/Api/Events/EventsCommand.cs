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
    [Description("export: write the event log as JSON Lines with a signed trailer")]
    public string Verb { get; set; } = "";

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
/// Streams (constant memory); the progress bar goes to standard error.
/// </summary>
[Description("Export the event log as JSON Lines with a signed trailer", Name = "events")]
public sealed class EventsCommand : JasperFxAsyncCommand<EventsInput>
{
    public const string Format = "aetherra-events.v1";

    public EventsCommand()
    {
        Usage("export").Arguments(x => x.Verb);
    }

    public override async Task<bool> Execute(EventsInput input)
    {
        if (!input.Verb.Equals("export", StringComparison.OrdinalIgnoreCase) || input.ToFlag is not { Length: > 0 } to)
        {
            Console.Error.WriteLine("usage: events export --to FILE|- [--from-sequence N]");
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
            await foreach (var e in StoredEvents.ReadAsync(connection, after, upTo, CancellationToken.None))
            {
                writer.WriteStartObject();
                writer.WriteNumber("sequence", e.Sequence);
                writer.WriteString("streamId", e.StreamId);
                writer.WriteNumber("version", e.Version);
                writer.WriteString("type", e.Type);
                writer.WriteNumber("timestampMicros", e.TimestampMicros);
                writer.WriteString("tenant", e.Tenant);
                writer.WriteString("data", e.Data);
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

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Aetherra.Infrastructure.AuditLog;

/// <summary>One stored event, as the audit log hashes it: the row exactly as PostgreSQL holds it.</summary>
public sealed record StoredEvent(
    long Sequence, Guid StreamId, long Version, string Type, long TimestampMicros, string Tenant, string Data);

/// <summary>
/// The leaf bytes of an event (version 1), a fixed big-endian layout any language can rebuild:
/// <code>
/// u8 0x01 (layout version) | i64 sequence | 16-byte stream id (RFC 4122 order) | i64 version
/// | u32 len | type (UTF-8) | i64 timestamp (µs since 1970-01-01 UTC) | u32 len | tenant (UTF-8)
/// | u32 len | data::text (UTF-8)
/// </code>
/// The leaf hash is SHA-256(0x00 || leaf bytes). One instance reuses its buffer: not thread-safe.
/// </summary>
public sealed class AuditLeafHasher
{
    public const byte Layout = 1;
    private byte[] _buffer = new byte[4096];

    public static byte[] Hash(StoredEvent e) => new AuditLeafHasher().HashOf(e);

    public byte[] HashOf(StoredEvent e)
    {
        var length = Encode(e);
        var hash = new byte[Merkle.HashSize];
        _buffer[0] = 0x00;
        SHA256.HashData(_buffer.AsSpan(0, length), hash);
        return hash;
    }

    /// <summary>
    /// The leaf hash of the current row of <see cref="StoredEvents.ReadLeafHashesAsync"/>'s query, read column by
    /// column into the buffer: the JSON comes as its UTF-8 bytes (no string decoded and encoded again), so a row
    /// costs one allocation (the hash). Same bytes as <see cref="HashOf(StoredEvent)"/>.
    /// </summary>
    public byte[] HashOf(NpgsqlDataReader row, out long sequence)
    {
        sequence = row.GetInt64(0);
        var streamId = row.GetGuid(1);
        var version = row.GetInt64(2);
        var type = row.GetString(3);
        var micros = (row.GetFieldValue<DateTime>(4).Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;
        var tenant = row.GetString(5);
        var dataLength = checked((int)row.GetBytes(6, 0, null, 0, 0));
        var max = 1 + 1 + 8 + 16 + 8 + 4 + 8 + 4 + 4 + Encoding.UTF8.GetMaxByteCount(type.Length + tenant.Length) + dataLength;
        if (_buffer.Length < max) _buffer = new byte[Math.Max(max, _buffer.Length * 2)];
        var span = _buffer.AsSpan();
        span[0] = 0x00;
        var at = 1;
        span[at++] = Layout;
        BinaryPrimitives.WriteInt64BigEndian(span[at..], sequence); at += 8;
        streamId.TryWriteBytes(span[at..], bigEndian: true, out _); at += 16;
        BinaryPrimitives.WriteInt64BigEndian(span[at..], version); at += 8;
        at = WriteText(span, at, type);
        BinaryPrimitives.WriteInt64BigEndian(span[at..], micros); at += 8;
        at = WriteText(span, at, tenant);
        BinaryPrimitives.WriteUInt32BigEndian(span[at..], (uint)dataLength); at += 4;
        for (var read = 0; read < dataLength;)
        {
            var n = (int)row.GetBytes(6, read, _buffer, at + read, dataLength - read);
            if (n <= 0) throw new InvalidOperationException($"event {sequence}: its data ended after {read} of {dataLength} bytes");
            read += n;
        }
        var hash = new byte[Merkle.HashSize];
        SHA256.HashData(span[..(at + dataLength)], hash);
        return hash;
    }

    /// <summary>The leaf bytes alone (for independent verifiers and tests).</summary>
    public byte[] Bytes(StoredEvent e) => _buffer.AsSpan(1, Encode(e) - 1).ToArray();

    /// <summary>Writes 0x00 || leaf bytes into the buffer, growing it as needed; returns the length.</summary>
    private int Encode(StoredEvent e)
    {
        var max = 1 + 1 + 8 + 16 + 8 + 4 + 8 + 4 + 4
                  + Encoding.UTF8.GetMaxByteCount(e.Type.Length + e.Tenant.Length + e.Data.Length);
        if (_buffer.Length < max) _buffer = new byte[Math.Max(max, _buffer.Length * 2)];
        var span = _buffer.AsSpan();
        var at = 1;
        span[at++] = Layout;
        BinaryPrimitives.WriteInt64BigEndian(span[at..], e.Sequence); at += 8;
        e.StreamId.TryWriteBytes(span[at..], bigEndian: true, out _); at += 16;
        BinaryPrimitives.WriteInt64BigEndian(span[at..], e.Version); at += 8;
        at = WriteText(span, at, e.Type);
        BinaryPrimitives.WriteInt64BigEndian(span[at..], e.TimestampMicros); at += 8;
        at = WriteText(span, at, e.Tenant);
        return WriteText(span, at, e.Data);
    }

    private static int WriteText(Span<byte> span, int at, string text)
    {
        var n = Encoding.UTF8.GetBytes(text, span[(at + 4)..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[at..], (uint)n);
        return at + 4 + n;
    }
}

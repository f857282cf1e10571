using System.Text.Json;
using Aetherra.Application.Memory;
using Aetherra.Domain.Recall;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Npgsql;
using NpgsqlTypes;

namespace Aetherra.Application.Recall;

/// <summary>POST /memories/list: the current memories of the caller's tenant that a filter accepts, newest first.</summary>
public sealed record ListMemoriesRequest(string? Subject, JsonElement? Filter, int? Limit, long? MinSequence);

public sealed record ListedMemory(
    Guid Id, string Content, int Version, string Subject, string Agent, string? Session, string Kind, IReadOnlyList<string> Tags,
    double Importance, string Classification, DateTimeOffset OccurredAt, DateTimeOffset RecordedAt,
    IReadOnlyDictionary<string, JsonElement>? Metadata);

public sealed record ListMemoriesResponse(IReadOnlyList<ListedMemory> Memories);

public sealed class ListMemoriesRequestValidator : AbstractValidator<ListMemoriesRequest>
{
    public const int MaxLimit = 200;

    public ListMemoriesRequestValidator()
    {
        RuleFor(x => x.Subject).MaximumLength(MemoryLimits.MaxNameLength);
        RuleFor(x => x.Limit).InclusiveBetween(1, MaxLimit);
        RuleFor(x => x.MinSequence).GreaterThanOrEqualTo(0);
        RuleFor(x => x.Filter).Custom((filter, context) =>
        {
            if (filter is not { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } f) return;
            var errors = new List<(string Path, string Message)>();
            RecallFilter.Parse(f, "filter", errors);
            foreach (var (path, message) in errors) context.AddFailure(path, message);
        });
    }
}

/// <summary>
/// Lists from the RecallEntry read model (its current versions, not forgotten, superseded or expired, content
/// readable), with the same filter as recall, compiled the same way (<see cref="RecallFilterSql"/>).
/// </summary>
public sealed class ListMemories(TenantDatabases databases, TimeProvider clock)
{
    public async Task<ListMemoriesResponse> RunAsync(string tenant, ListMemoriesRequest request, CancellationToken ct)
    {
        await Common.Consistency.WaitForProjectionAsync(databases.For(tenant), RecallProjection.Name, request.MinSequence, clock, ct);
        var node = request.Filter is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } f
            ? RecallFilter.Parse(f, "filter", [])
            : null;
        var (filter, parameters) = RecallFilterSql.Compile(node, 5);
        await using var cmd = databases.For(tenant).CreateCommand($"""
            select memory_id, version, content, subject, agent, session, kind, tags, importance, classification, occurred_at,
                recorded_at, metadata::text
            from {RecallSchema.Entries}
            where tenant_id = $1 and ($2::text is null or subject = $2) and valid_to is null and content is not null
              and (expires_at is null or expires_at > $3) and {filter}
            order by occurred_at desc, memory_id
            limit $4
            """);
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = (object?)request.Subject ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = clock.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = request.Limit ?? 50 });
        cmd.Parameters.AddRange(parameters.ToArray());
        var memories = new List<ListedMemory>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            memories.Add(new ListedMemory(reader.GetGuid(0), reader.GetString(2), reader.GetInt32(1), reader.GetString(3),
                reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetString(6), (string[])reader[7],
                reader.GetDouble(8), reader.GetString(9), reader.GetFieldValue<DateTimeOffset>(10), reader.GetFieldValue<DateTimeOffset>(11),
                reader.IsDBNull(12) ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(reader.GetString(12))));
        return new ListMemoriesResponse(memories);
    }
}

using System.Globalization;
using System.Text.Json;
using Aetherra.Domain.Memory;

namespace Aetherra.Domain.Recall;

/// <summary>The fields a filter may name: a fixed list, so a field name never reaches SQL from the client.</summary>
public enum FilterField { Kind, Tags, Agent, Session, Importance, OccurredAt, Classification, Metadata }

public enum FilterOp { Eq, Ne, Gt, Gte, Lt, Lte, In, Nin, Contains }

/// <summary>
/// A parsed <c>filter</c> of POST /recall: <c>{and: [...]}</c>, <c>{or: [...]}</c>, <c>{not: {...}}</c> or
/// <c>{field: {op: value, ...}}</c> (several operators on one field are all required). Every condition is
/// true or false, never unknown: a missing value (no session, no such metadata key, another JSON type)
/// makes eq, gt, gte, lt, lte, in and contains false, and ne and nin, their negations, true.
/// <para>
/// The node records are not sealed, and the facts are a record struct, so that the architecture test that takes
/// every public sealed record of Domain for an event (to demand a stored name) does not count them.
/// </para>
/// </summary>
public abstract record FilterNode;

public record FilterAnd(IReadOnlyList<FilterNode> Nodes) : FilterNode;

public record FilterOr(IReadOnlyList<FilterNode> Nodes) : FilterNode;

public record FilterNot(FilterNode Node) : FilterNode;

/// <summary>
/// One comparison. Values are typed by the field: string (kind and classification lower case, agent, session,
/// tags), double (importance), DateTimeOffset (occurredAt, to the microsecond) and, for a metadata key,
/// string, decimal or bool. <see cref="Values"/> holds one value, or the list of in and nin.
/// </summary>
public record FilterCondition(FilterField Field, string? Key, FilterOp Op, IReadOnlyList<object> Values) : FilterNode;

/// <summary>What a filter is evaluated against: a memory version's filterable fields.</summary>
public readonly record struct FilterFacts(
    string Kind, IReadOnlyList<string> Tags, string Agent, string? Session, double Importance, DateTimeOffset OccurredAt,
    string Classification, IReadOnlyDictionary<string, JsonElement>? Metadata);

public static class RecallFilter
{
    public const int MaxDepth = 8;
    public const int MaxConditions = 64;
    public const int MaxListLength = 100;
    public const int MaxStringLength = 1_000;

    private static readonly string[] Kinds = ["fact", "preference", "episode", "instruction", "observation"];
    private static readonly string[] Classifications = ["public", "internal", "confidential"];

    private static readonly Dictionary<string, FilterOp> Ops = new(StringComparer.Ordinal)
    {
        ["eq"] = FilterOp.Eq, ["ne"] = FilterOp.Ne, ["gt"] = FilterOp.Gt, ["gte"] = FilterOp.Gte, ["lt"] = FilterOp.Lt,
        ["lte"] = FilterOp.Lte, ["in"] = FilterOp.In, ["nin"] = FilterOp.Nin, ["contains"] = FilterOp.Contains,
    };

    private static readonly Dictionary<string, FilterField> Fields = new(StringComparer.Ordinal)
    {
        ["kind"] = FilterField.Kind, ["tags"] = FilterField.Tags, ["agent"] = FilterField.Agent, ["session"] = FilterField.Session,
        ["importance"] = FilterField.Importance, ["occurredAt"] = FilterField.OccurredAt, ["classification"] = FilterField.Classification,
    };

    /// <summary>The operators each field accepts.</summary>
    public static IReadOnlyCollection<FilterOp> OpsOf(FilterField field) => field switch
    {
        FilterField.Kind or FilterField.Classification => [FilterOp.Eq, FilterOp.Ne, FilterOp.In, FilterOp.Nin],
        FilterField.Agent or FilterField.Session => [FilterOp.Eq, FilterOp.Ne, FilterOp.In, FilterOp.Nin, FilterOp.Contains],
        FilterField.Tags => [FilterOp.Contains, FilterOp.In, FilterOp.Nin],
        FilterField.Importance or FilterField.OccurredAt =>
            [FilterOp.Eq, FilterOp.Ne, FilterOp.Gt, FilterOp.Gte, FilterOp.Lt, FilterOp.Lte, FilterOp.In, FilterOp.Nin],
        _ => Ops.Values,
    };

    /// <summary>
    /// Parses a filter; every problem is reported with the JSON path of its node (<paramref name="path"/> is the
    /// filter's own, e.g. <c>filter</c>), and the result is null when there is any.
    /// </summary>
    public static FilterNode? Parse(JsonElement filter, string path, List<(string Path, string Message)> errors)
    {
        var count = 0;
        var node = Node(filter, path, 1, errors, ref count);
        return errors.Count == 0 ? node : null;
    }

    private static FilterNode? Node(JsonElement e, string path, int depth, List<(string, string)> errors, ref int count)
    {
        if (depth > MaxDepth)
        {
            errors.Add((path, $"A filter nests at most {MaxDepth} levels."));
            return null;
        }
        if (e.ValueKind != JsonValueKind.Object || e.EnumerateObject().Count() != 1)
        {
            errors.Add((path, "A filter node is an object with exactly one of and, or, not or a field name."));
            return null;
        }
        var property = e.EnumerateObject().Single();
        var here = $"{path}.{property.Name}";
        switch (property.Name)
        {
            case "and" or "or":
                if (property.Value.ValueKind != JsonValueKind.Array || property.Value.GetArrayLength() is 0 or > MaxConditions)
                {
                    errors.Add((here, $"'{property.Name}' takes an array of 1 to {MaxConditions} filter nodes."));
                    return null;
                }
                var nodes = new List<FilterNode>();
                var i = 0;
                foreach (var item in property.Value.EnumerateArray())
                    if (Node(item, $"{here}[{i++}]", depth + 1, errors, ref count) is { } n) nodes.Add(n);
                return property.Name == "and" ? new FilterAnd(nodes) : new FilterOr(nodes);
            case "not":
                return Node(property.Value, here, depth + 1, errors, ref count) is { } inner ? new FilterNot(inner) : null;
        }

        FilterField field;
        string? key = null;
        if (property.Name.StartsWith("metadata.", StringComparison.Ordinal))
        {
            field = FilterField.Metadata;
            key = property.Name["metadata.".Length..];
            if (MemoryMetadata.KeyProblem(key) is { } problem)
            {
                errors.Add((here, problem));
                return null;
            }
        }
        else if (!Fields.TryGetValue(property.Name, out field))
        {
            errors.Add((here, "Unknown filter field: use and, or, not, kind, tags, agent, session, importance, occurredAt, " +
                              "classification or metadata.<key>."));
            return null;
        }
        if (property.Value.ValueKind != JsonValueKind.Object || !property.Value.EnumerateObject().Any())
        {
            errors.Add((here, "A field takes an object of operators, e.g. {\"eq\": value}."));
            return null;
        }
        var conditions = new List<FilterNode>();
        foreach (var op in property.Value.EnumerateObject())
        {
            if (++count > MaxConditions)
            {
                errors.Add((here, $"A filter holds at most {MaxConditions} conditions."));
                return null;
            }
            var opPath = $"{here}.{op.Name}";
            if (!Ops.TryGetValue(op.Name, out var o))
            {
                errors.Add((opPath, "Unknown operator: use eq, ne, gt, gte, lt, lte, in, nin or contains."));
                continue;
            }
            if (!OpsOf(field).Contains(o))
            {
                errors.Add((opPath, $"'{property.Name}' takes {string.Join(", ", OpsOf(field).Select(x => x.ToString().ToLowerInvariant()))}."));
                continue;
            }
            var values = new List<object>();
            if (o is FilterOp.In or FilterOp.Nin)
            {
                if (op.Value.ValueKind != JsonValueKind.Array || op.Value.GetArrayLength() is 0 or > MaxListLength)
                {
                    errors.Add((opPath, $"'{op.Name}' takes an array of 1 to {MaxListLength} values."));
                    continue;
                }
                var i = 0;
                foreach (var item in op.Value.EnumerateArray())
                    if (Value(field, o, item, $"{opPath}[{i++}]", errors) is { } v) values.Add(v);
            }
            else if (Value(field, o, op.Value, opPath, errors) is { } v) values.Add(v);
            conditions.Add(new FilterCondition(field, key, o, values));
        }
        return conditions.Count == 1 ? conditions[0] : new FilterAnd(conditions);
    }

    private static object? Value(FilterField field, FilterOp op, JsonElement e, string path, List<(string, string)> errors)
    {
        string? Fail(string message)
        {
            errors.Add((path, message));
            return null;
        }
        switch (field)
        {
            case FilterField.Kind or FilterField.Classification:
                var allowed = field == FilterField.Kind ? Kinds : Classifications;
                return e.ValueKind == JsonValueKind.String && allowed.Contains(e.GetString()!.ToLowerInvariant())
                    ? e.GetString()!.ToLowerInvariant()
                    : Fail($"Must be one of {string.Join(", ", allowed)}.");
            case FilterField.Agent or FilterField.Session or FilterField.Tags:
                return e.ValueKind == JsonValueKind.String && e.GetString()!.Length is > 0 and <= MaxStringLength
                    ? e.GetString()
                    : Fail($"Must be a string of 1 to {MaxStringLength} characters.");
            case FilterField.Importance:
                return e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d) && double.IsFinite(d) ? d : Fail("Must be a number.");
            case FilterField.OccurredAt:
                return e.ValueKind == JsonValueKind.String &&
                       DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
                       && e.GetString()!.Contains('T')
                    ? Microseconds(at)
                    : Fail("Must be an ISO 8601 date and time, e.g. 2026-05-01T00:00:00Z.");
            default:
                var value = MemoryMetadata.ValueOf(e, out var problem);
                if (value is null) return Fail(problem!);
                if (op is FilterOp.Contains && value is not string) return Fail("'contains' takes a string.");
                if (op is FilterOp.Gt or FilterOp.Gte or FilterOp.Lt or FilterOp.Lte && value is bool)
                    return Fail($"'{op.ToString().ToLowerInvariant()}' takes a number or a string.");
                return value;
        }
    }

    /// <summary>An instant as PostgreSQL stores it (microseconds, UTC).</summary>
    public static DateTimeOffset Microseconds(DateTimeOffset at) =>
        new(at.UtcTicks - at.UtcTicks % 10, TimeSpan.Zero);

    /// <summary>The filter evaluated in memory: the same answer as its SQL (a property test holds this).</summary>
    public static bool Evaluate(FilterNode node, FilterFacts f) => node switch
    {
        FilterAnd a => a.Nodes.All(n => Evaluate(n, f)),
        FilterOr o => o.Nodes.Any(n => Evaluate(n, f)),
        FilterNot n => !Evaluate(n.Node, f),
        FilterCondition c => Evaluate(c, f),
        _ => false,
    };

    private static bool Evaluate(FilterCondition c, FilterFacts f)
    {
        switch (c.Op)
        {
            case FilterOp.Ne: return !Evaluate(c with { Op = FilterOp.Eq }, f);
            case FilterOp.Nin: return !Evaluate(c with { Op = FilterOp.In }, f);
            case FilterOp.In when c.Field != FilterField.Tags: return c.Values.Any(v => Evaluate(c with { Op = FilterOp.Eq, Values = [v] }, f));
        }
        var value = c.Values[0];
        switch (c.Field)
        {
            case FilterField.Kind: return c.Op == FilterOp.Eq && f.Kind == (string)value;
            case FilterField.Classification: return c.Op == FilterOp.Eq && f.Classification == (string)value;
            case FilterField.Agent: return Text(f.Agent, c.Op, (string)value);
            case FilterField.Session: return f.Session is not null && Text(f.Session, c.Op, (string)value);
            case FilterField.Tags:
                return c.Op == FilterOp.Contains ? f.Tags.Contains((string)value) : c.Values.Any(v => f.Tags.Contains((string)v));
            case FilterField.Importance: return Compare(f.Importance.CompareTo((double)value), c.Op);
            case FilterField.OccurredAt: return Compare(f.OccurredAt.CompareTo((DateTimeOffset)value), c.Op);
        }
        if (f.Metadata is null || !f.Metadata.TryGetValue(c.Key!, out var stored)) return false;
        switch (value)
        {
            case string s when stored.ValueKind == JsonValueKind.String:
                var text = stored.GetString()!;
                return c.Op == FilterOp.Contains ? text.Contains(s, StringComparison.Ordinal) : Compare(string.CompareOrdinal(text, s), c.Op);
            case decimal m when stored.ValueKind == JsonValueKind.Number && stored.TryGetDecimal(out var number):
                return Compare(number.CompareTo(m), c.Op);
            case bool b when stored.ValueKind is JsonValueKind.True or JsonValueKind.False:
                return c.Op == FilterOp.Eq && stored.GetBoolean() == b;
            default:
                return false;
        }
    }

    private static bool Text(string actual, FilterOp op, string value) =>
        op == FilterOp.Contains ? actual.Contains(value, StringComparison.Ordinal) : op == FilterOp.Eq && actual == value;

    private static bool Compare(int order, FilterOp op) => op switch
    {
        FilterOp.Eq => order == 0,
        FilterOp.Gt => order > 0,
        FilterOp.Gte => order >= 0,
        FilterOp.Lt => order < 0,
        FilterOp.Lte => order <= 0,
        _ => false,
    };
}

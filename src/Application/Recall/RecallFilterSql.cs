using System.Globalization;
using System.Text.Json;
using Aetherra.Domain.Recall;
using Npgsql;
using NpgsqlTypes;

namespace Aetherra.Application.Recall;

/// <summary>
/// A parsed recall filter as a SQL predicate over <c>recall_entries</c>. Nothing from the client is written
/// into the SQL text: column names come from a fixed map of <see cref="FilterField"/>, operators from a fixed
/// map of <see cref="FilterOp"/>, and every value, metadata keys included, is a parameter ($n). Each condition
/// is true or false, never NULL (coalesce), so <c>not</c> is the plain negation, as in
/// <see cref="RecallFilter.Evaluate"/>.
/// </summary>
public sealed class RecallFilterSql
{
    private readonly List<NpgsqlParameter> parameters = [];
    private readonly int first;
    private readonly string prefix;

    private RecallFilterSql(int first, string prefix)
    {
        this.first = first;
        this.prefix = prefix;
    }

    /// <summary>
    /// The predicate and its parameters, numbered from <paramref name="firstParameter"/>; columns are prefixed
    /// with <paramref name="prefix"/> (a table alias and a dot, or nothing). "true" without a filter.
    /// </summary>
    public static (string Sql, IReadOnlyList<NpgsqlParameter> Parameters) Compile(FilterNode? node, int firstParameter, string prefix = "")
    {
        if (node is null) return ("true", []);
        var compiler = new RecallFilterSql(firstParameter, prefix);
        return (compiler.Node(node), compiler.parameters);
    }

    private string Node(FilterNode node) => node switch
    {
        FilterAnd a => "(" + string.Join(" and ", a.Nodes.Select(Node)) + ")",
        FilterOr o => "(" + string.Join(" or ", o.Nodes.Select(Node)) + ")",
        FilterNot n => "(not " + Node(n.Node) + ")",
        FilterCondition c => Condition(c),
        _ => throw new ArgumentOutOfRangeException(nameof(node)),
    };

    private string Condition(FilterCondition c)
    {
        switch (c.Op)
        {
            case FilterOp.Ne: return "(not " + Condition(c with { Op = FilterOp.Eq }) + ")";
            case FilterOp.Nin: return "(not " + Condition(c with { Op = FilterOp.In }) + ")";
        }
        var column = prefix + c.Field switch
        {
            FilterField.Kind => "kind",
            FilterField.Tags => "tags",
            FilterField.Agent => "agent",
            FilterField.Session => "session",
            FilterField.Importance => "importance",
            FilterField.OccurredAt => "occurred_at",
            FilterField.Classification => "classification",
            FilterField.Metadata => "metadata",
            _ => throw new ArgumentOutOfRangeException(nameof(c)),
        };
        var value = c.Values[0];
        return c.Field switch
        {
            FilterField.Tags => c.Op == FilterOp.Contains
                ? $"coalesce({column} @> array[{Add(value, NpgsqlDbType.Text)}], false)"
                : $"coalesce({column} && {Add(c.Values.Cast<string>().ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)}, false)",
            FilterField.Kind or FilterField.Classification or FilterField.Agent or FilterField.Session => c.Op switch
            {
                FilterOp.In => $"coalesce({column} = any({Add(c.Values.Cast<string>().ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)}), false)",
                FilterOp.Contains => $"coalesce(strpos({column}, {Add(value, NpgsqlDbType.Text)}) > 0, false)",
                _ => $"coalesce({column} = {Add(value, NpgsqlDbType.Text)}, false)",
            },
            FilterField.Importance => c.Op == FilterOp.In
                ? $"coalesce({column} = any({Add(c.Values.Cast<double>().ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Double)}), false)"
                : $"coalesce({column} {Comparison(c.Op)} {Add(value, NpgsqlDbType.Double)}, false)",
            FilterField.OccurredAt => c.Op == FilterOp.In
                ? $"coalesce({column} = any({Add(c.Values.Cast<DateTimeOffset>().ToArray(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)}), false)"
                : $"coalesce({column} {Comparison(c.Op)} {Add(value, NpgsqlDbType.TimestampTz)}, false)",
            _ => Metadata(column, c),
        };
    }

    /// <summary>
    /// A metadata condition: the key is a parameter into <c>-&gt;</c>; equality compares JSON values (so 1 and 1.0
    /// are equal, "1" and 1 are not); order and contains apply only to a stored value of the same JSON type, in a
    /// CASE so that no cast ever meets a value of another type.
    /// </summary>
    private string Metadata(string column, FilterCondition c)
    {
        var key = Add(c.Key!, NpgsqlDbType.Text);
        var value = c.Values[0];
        switch (c.Op)
        {
            case FilterOp.Eq:
                return $"coalesce({column} -> {key} = {Add(Json(value), NpgsqlDbType.Text)}::jsonb, false)";
            case FilterOp.In:
                return $"coalesce({column} -> {key} = any({Add(c.Values.Select(Json).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)}::jsonb[]), false)";
            case FilterOp.Contains:
                return $"coalesce(case when jsonb_typeof({column} -> {key}) = 'string' then strpos({column} ->> {key}, {Add(value, NpgsqlDbType.Text)}) > 0 end, false)";
        }
        return value is decimal
            ? $"coalesce(case when jsonb_typeof({column} -> {key}) = 'number' then ({column} ->> {key})::numeric {Comparison(c.Op)} {Add(value, NpgsqlDbType.Numeric)} end, false)"
            : $"coalesce(case when jsonb_typeof({column} -> {key}) = 'string' then ({column} ->> {key}) collate \"C\" {Comparison(c.Op)} {Add(value, NpgsqlDbType.Text)} collate \"C\" end, false)";
    }

    private static string Json(object value) => value switch
    {
        decimal d => d.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => JsonSerializer.Serialize((string)value),
    };

    private static string Comparison(FilterOp op) => op switch
    {
        FilterOp.Eq => "=",
        FilterOp.Gt => ">",
        FilterOp.Gte => ">=",
        FilterOp.Lt => "<",
        FilterOp.Lte => "<=",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private string Add(object value, NpgsqlDbType type)
    {
        parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
        return "$" + (first + parameters.Count - 1).ToString(CultureInfo.InvariantCulture);
    }
}

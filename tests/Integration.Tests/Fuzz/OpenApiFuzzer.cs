using System.Globalization;
using System.Text;

namespace Aetherra.Integration.Tests.Fuzz;

public sealed record FuzzCase(string Operation, HttpMethod Method, string Url, string? Body);

/// <summary>
/// Requests for every operation of an OpenAPI document: mostly values of the declared type, format and enum,
/// mixed with the values that have broken servers (NUL, unpaired surrogates, 1e309, "NaN", the all-zero id,
/// empty and wrong-typed values, very long text, malformed bodies). Seeded, so a failure replays.
/// </summary>
public sealed class OpenApiFuzzer(JsonElement document, int seed)
{
    private readonly Random _random = new(seed);
    private static readonly string[] Methods = ["get", "post", "put", "delete", "patch"];

    private static readonly string[] NastyJson =
    [
        "\"\\u0000\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"x\\udc00y\"", "\"\"", "\"   \"", "1e309", "-1e309", "\"NaN\"",
        "\"Infinity\"", "0", "-1", "9223372036854775808", "1.5", "true", "null", "[]", "{}", "[null]", "{\"a\":\"\\u0000\"}",
        "\"00000000-0000-0000-0000-000000000000\"", "\"not-a-guid\"", "\"9999-12-31T23:59:59Z\"", "\"0001-01-01T00:00:00Z\"",
        "\"" + new string('x', 20_000) + "\"", "\"💥\"", "\"../../etc/passwd\"", "\"<script>\"",
    ];

    private static readonly string[] NastyText =
    [
        "\0", "a\0b", "", " ", "00000000-0000-0000-0000-000000000000", "not-a-guid", "-1", "1e309", "NaN", "a/b", "a%2Fb",
        "..", "💥", new string('y', 3_000), "9223372036854775808",
    ];

    public IEnumerable<FuzzCase> Cases(int perOperation)
    {
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        foreach (var op in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)))
        {
            var name = op.Value.TryGetProperty("operationId", out var id) ? id.GetString()! : $"{op.Name} {path.Name}";
            for (var i = 0; i < perOperation; i++)
                yield return Case(name, new HttpMethod(op.Name.ToUpperInvariant()), path.Name, op.Value, i == 0);
        }
    }

    private FuzzCase Case(string operation, HttpMethod method, string template, JsonElement op, bool valid)
    {
        var url = new StringBuilder(template);
        var query = new List<string>();
        if (op.TryGetProperty("parameters", out var parameters))
            foreach (var p in parameters.EnumerateArray())
            {
                var name = p.GetProperty("name").GetString()!;
                var schema = p.TryGetProperty("schema", out var s) ? s : default;
                var place = p.GetProperty("in").GetString();
                var required = p.TryGetProperty("required", out var r) && r.GetBoolean();
                if (place == "path")
                    url.Replace("{" + name + "}", Uri.EscapeDataString(Text(schema, valid)));
                else if (place == "query" && (required || Chance(0.5)))
                    query.Add($"{Uri.EscapeDataString(name)}={Uri.EscapeDataString(Text(schema, valid))}");
            }
        if (query.Count > 0) url.Append('?').Append(string.Join('&', query));

        string? body = null;
        if (op.TryGetProperty("requestBody", out var requestBody)
            && requestBody.TryGetProperty("content", out var content)
            && content.TryGetProperty("application/json", out var json)
            && json.TryGetProperty("schema", out var bodySchema))
            body = !valid && Chance(0.1)
                ? Pick(["", "{", "[]", "null", "\"text\"", "{\"a\":", "{}{}", "{\"x\":1}"])
                : Json(bodySchema, valid, 0);
        return new FuzzCase(operation, method, url.ToString(), body);
    }

    private JsonElement Resolve(JsonElement schema)
    {
        for (var i = 0; i < 8 && schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference); i++)
        {
            var node = document;
            foreach (var part in reference.GetString()!.TrimStart('#', '/').Split('/')) node = node.GetProperty(part);
            schema = node;
        }
        return schema;
    }

    private static string TypeOf(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("type", out var type)) return "";
        if (type.ValueKind == JsonValueKind.String) return type.GetString()!;
        return type.EnumerateArray().Select(t => t.GetString()!).FirstOrDefault(t => t != "null") ?? "null";
    }

    /// <summary>A JSON text for the schema: of its type when <paramref name="valid"/>, else now and then a nasty value.</summary>
    private string Json(JsonElement schema, bool valid, int depth)
    {
        schema = Resolve(schema);
        if (!valid && Chance(0.25)) return Pick(NastyJson);
        if (schema.ValueKind != JsonValueKind.Object || depth > 6) return "null";
        foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
            if (schema.TryGetProperty(combinator, out var options))
            {
                var choices = options.EnumerateArray().Where(o => TypeOf(Resolve(o)) != "null").ToList();
                return choices.Count == 0 ? "null" : Json(Pick(choices), valid, depth + 1);
            }
        if (schema.TryGetProperty("enum", out var values) && values.GetArrayLength() > 0)
            return Pick(values.EnumerateArray().ToList()).GetRawText();
        switch (TypeOf(schema))
        {
            case "object":
            {
                var members = new List<string>();
                if (schema.TryGetProperty("properties", out var properties))
                    foreach (var p in properties.EnumerateObject())
                        if (valid || Chance(0.8))
                            members.Add($"{JsonSerializer.Serialize(p.Name)}:{Json(p.Value, valid, depth + 1)}");
                return "{" + string.Join(',', members) + "}";
            }
            case "array":
            {
                var items = schema.TryGetProperty("items", out var i) ? i : default;
                var count = _random.Next(0, 4);
                return "[" + string.Join(',', Enumerable.Range(0, count).Select(_ => Json(items, valid, depth + 1))) + "]";
            }
            case "integer":
                return _random.Next(0, 100).ToString(CultureInfo.InvariantCulture);
            case "number":
                return _random.NextDouble().ToString("0.###", CultureInfo.InvariantCulture);
            case "boolean":
                return Chance(0.5) ? "true" : "false";
            case "string":
                return JsonSerializer.Serialize(Text(schema, true));
            default:
                return "null";
        }
    }

    /// <summary>A text for a path or query value.</summary>
    private string Text(JsonElement schema, bool valid)
    {
        schema = Resolve(schema);
        if (!valid && Chance(0.3)) return Pick(NastyText);
        var format = schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("format", out var f) ? f.GetString() : null;
        if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("enum", out var values) && values.GetArrayLength() > 0)
            return Pick(values.EnumerateArray().ToList()).ToString();
        return (TypeOf(schema), format) switch
        {
            (_, "uuid") => Guid.CreateVersion7().ToString(),
            (_, "date-time") => DateTimeOffset.UtcNow.AddMinutes(-_random.Next(0, 10_000)).ToString("O", CultureInfo.InvariantCulture),
            ("integer", _) => _random.Next(0, 1_000).ToString(CultureInfo.InvariantCulture),
            ("number", _) => _random.NextDouble().ToString("0.###", CultureInfo.InvariantCulture),
            ("boolean", _) => Chance(0.5) ? "true" : "false",
            _ => Pick(["alice", "memory.record", "fact", "com.example.weather", "RecallEntry", "http.error-rate", "planner", "x"]),
        };
    }

    private bool Chance(double p) => _random.NextDouble() < p;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
}

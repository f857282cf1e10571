using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aetherra.Api.Http;

/// <summary>
/// What no field of any request may hold, checked in one place for every route (the body by
/// <see cref="ValidationPolicy"/>, route values and query strings by <see cref="InputGuardMiddleware"/>), so a
/// new command is covered without a rule of its own: text PostgreSQL cannot store (NUL, which text and jsonb
/// refuse with 22021/22P05, and unpaired UTF-16 surrogates, which have no UTF-8 form), numbers JSON cannot carry
/// (NaN, infinities: <c>1e309</c> overflows to one) and the all-zero id, which names nothing. Such input used to
/// reach the store and fail there as a 500, or worse, be sealed and stop an async projection later.
/// </summary>
public static class InputText
{
    public const string TextMessage =
        "must not contain NUL (\\u0000) or unpaired surrogate characters: they cannot be stored.";
    public const string NumberMessage = "must be a finite number.";
    public const string IdMessage = "must not be the all-zero id.";

    private const int MaxDepth = 32;
    private static readonly ConcurrentDictionary<Type, Member[]?> Shapes = new();

    /// <summary>A readable property of a request type: its JSON name and a compiled getter (no reflection per value).</summary>
    private sealed record Member(string Name, Func<object, object?> Get);

    /// <summary>
    /// Where the walk is, as segments: the path string ("memories[3].tags[0]") is built only for a field that
    /// fails, not for every field of every request (a batch of 1,000 memories has over 10,000).
    /// </summary>
    /// <param name="name">a property or key; null for an array's item at <paramref name="index"/></param>
    /// <param name="key">a dictionary's key, written after a dot even at the top (the walk always wrote ".key")</param>
    private readonly struct Segment(string? name, int index, bool key = false)
    {
        public string? Name { get; } = name;
        public int Index { get; } = index;
        public bool Key { get; } = key;
    }

    /// <summary>True when PostgreSQL can store the text as it is.</summary>
    public static bool IsStorable(ReadOnlySpan<char> text) => Infrastructure.Database.StorableText.IsStorable(text);

    /// <summary>Every offending field of a request body, keyed by its JSON path ("memories[3].tags[0]").</summary>
    public static Dictionary<string, string[]> Check(object? body)
    {
        var errors = new Dictionary<string, string[]>();
        Walk(body, [], errors, 0);
        return errors;
    }

    private static void Walk(object? value, List<Segment> path, Dictionary<string, string[]> errors, int depth)
    {
        if (value is null || depth > MaxDepth) return;
        switch (value)
        {
            case string s:
                if (!IsStorable(s)) Add(errors, path, TextMessage);
                return;
            case double d:
                if (!double.IsFinite(d)) Add(errors, path, NumberMessage);
                return;
            case float f:
                if (!float.IsFinite(f)) Add(errors, path, NumberMessage);
                return;
            case Guid g:
                if (g == Guid.Empty) Add(errors, path, IdMessage);
                return;
            case JsonElement e:
                WalkJson(e, path, errors, depth);
                return;
            case JsonNode n:
                WalkJson(JsonSerializer.SerializeToElement(n), path, errors, depth);
                return;
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                {
                    var key = entry.Key.ToString() ?? "";
                    if (!IsStorable(key)) Add(errors, path, TextMessage);
                    else WalkChild(entry.Value, path, new Segment(key, -1, key: true), errors, depth);
                }
                return;
            case IEnumerable items:
                var i = 0;
                foreach (var item in items) WalkChild(item, path, new Segment(null, i++), errors, depth);
                return;
        }
        if (MembersOf(value.GetType()) is not { } members) return;
        foreach (var m in members) WalkChild(m.Get(value), path, new Segment(m.Name, -1), errors, depth);
    }

    private static void WalkChild(object? value, List<Segment> path, Segment segment, Dictionary<string, string[]> errors, int depth)
    {
        // Values that cannot fail are not walked: most fields of a request (enums, booleans, integers, dates).
        if (value is null or bool or int or long or decimal or DateTimeOffset or DateTime or Enum) return;
        path.Add(segment);
        Walk(value, path, errors, depth + 1);
        path.RemoveAt(path.Count - 1);
    }

    private static void WalkJson(JsonElement e, List<Segment> path, Dictionary<string, string[]> errors, int depth)
    {
        if (depth > MaxDepth) return;
        try
        {
            WalkJsonValue(e, path, errors, depth);
        }
        catch (InvalidOperationException)
        {
            // A JSON element keeps its text raw: an escaped unpaired surrogate ("\ud800") has no UTF-16 string
            // to read, so it fails here (found by the OpenAPI fuzzer: a 500 on POST /plugins).
            Add(errors, path, TextMessage);
        }
    }

    private static void WalkJsonValue(JsonElement e, List<Segment> path, Dictionary<string, string[]> errors, int depth)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                if (!IsStorable(e.GetString())) Add(errors, path, TextMessage);
                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    if (!IsStorable(p.Name)) Add(errors, path, TextMessage);
                    else
                    {
                        path.Add(new Segment(p.Name, -1));
                        WalkJson(p.Value, path, errors, depth + 1);
                        path.RemoveAt(path.Count - 1);
                    }
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    path.Add(new Segment(null, i++));
                    WalkJson(item, path, errors, depth + 1);
                    path.RemoveAt(path.Count - 1);
                }
                break;
        }
    }

    /// <summary>The readable properties of our own request types; null for everything else (framework values).</summary>
    private static Member[]? MembersOf(Type type) => Shapes.GetOrAdd(type, t =>
        t.Namespace?.StartsWith("Aetherra", StringComparison.Ordinal) == true && !t.IsEnum
            ? t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0
                && p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null)
                .Select(p => new Member(Camel(p.Name), Getter(p))).ToArray()
            : null);

    private static Func<object, object?> Getter(PropertyInfo property)
    {
        var instance = System.Linq.Expressions.Expression.Parameter(typeof(object));
        var body = System.Linq.Expressions.Expression.Convert(
            System.Linq.Expressions.Expression.Property(System.Linq.Expressions.Expression.Convert(instance, property.DeclaringType!), property),
            typeof(object));
        return System.Linq.Expressions.Expression.Lambda<Func<object, object?>>(body, instance).Compile();
    }

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    /// <summary>The JSON path of the walk's position, as the answer names a field: "memories[3].tags[0]", "metadata.k".</summary>
    private static string PathOf(List<Segment> path)
    {
        var text = new System.Text.StringBuilder();
        foreach (var s in path)
        {
            if (s.Name is null) text.Append('[').Append(s.Index).Append(']');
            else
            {
                if (text.Length > 0 || s.Key) text.Append('.');
                text.Append(s.Name);
            }
        }
        return text.ToString();
    }

    private static void Add(Dictionary<string, string[]> errors, List<Segment> path, string message) =>
        Add(errors, PathOf(path), message);

    private static void Add(Dictionary<string, string[]> errors, string path, string message)
    {
        var key = path.Length == 0 ? "body" : path;
        errors[key] = [$"'{key}' {message}"];
    }
}

/// <summary>
/// Route values and query strings get the same check as bodies (<see cref="InputText"/>). An all-zero id in the
/// path names nothing: 404, as for any id that does not exist.
/// </summary>
public sealed class InputGuardMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var (name, value) in context.Request.RouteValues)
        {
            if (value is not string s) continue;
            if (!InputText.IsStorable(s)) errors[name] = [$"'{name}' {InputText.TextMessage}"];
            else if (Guid.TryParse(s, out var id) && id == Guid.Empty)
                return Problems.Write(context, 404, "Not found", $"no resource has the all-zero id ({name})");
        }
        foreach (var (name, values) in context.Request.Query)
            if (!InputText.IsStorable(name) || values.Any(v => !InputText.IsStorable(v)))
            {
                var key = InputText.IsStorable(name) ? name : "query";
                errors[key] = [$"'{key}' {InputText.TextMessage}"];
            }
        return errors.Count == 0 ? next(context) : RequestValidation.Invalid(context, errors).ExecuteAsync(context);
    }
}

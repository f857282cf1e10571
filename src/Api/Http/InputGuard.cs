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
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]?> Shapes = new();

    /// <summary>True when PostgreSQL can store the text as it is.</summary>
    public static bool IsStorable(ReadOnlySpan<char> text) => Infrastructure.Database.StorableText.IsStorable(text);

    /// <summary>Every offending field of a request body, keyed by its JSON path ("memories[3].tags[0]").</summary>
    public static Dictionary<string, string[]> Check(object? body)
    {
        var errors = new Dictionary<string, string[]>();
        Walk(body, "", errors, 0);
        return errors;
    }

    private static void Walk(object? value, string path, Dictionary<string, string[]> errors, int depth)
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
                    else Walk(entry.Value, $"{path}.{key}", errors, depth + 1);
                }
                return;
            case IEnumerable items:
                var i = 0;
                foreach (var item in items) Walk(item, $"{path}[{i++}]", errors, depth + 1);
                return;
        }
        if (PropertiesOf(value.GetType()) is not { } properties) return;
        foreach (var p in properties)
            Walk(p.GetValue(value), path.Length == 0 ? Camel(p.Name) : $"{path}.{Camel(p.Name)}", errors, depth + 1);
    }

    private static void WalkJson(JsonElement e, string path, Dictionary<string, string[]> errors, int depth)
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

    private static void WalkJsonValue(JsonElement e, string path, Dictionary<string, string[]> errors, int depth)
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
                    else WalkJson(p.Value, path.Length == 0 ? p.Name : $"{path}.{p.Name}", errors, depth + 1);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in e.EnumerateArray()) WalkJson(item, $"{path}[{i++}]", errors, depth + 1);
                break;
        }
    }

    /// <summary>The readable properties of our own request types; null for everything else (framework values).</summary>
    private static PropertyInfo[]? PropertiesOf(Type type) => Shapes.GetOrAdd(type, t =>
        t.Namespace?.StartsWith("Aetherra", StringComparison.Ordinal) == true && !t.IsEnum
            ? t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0
                && p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null).ToArray()
            : null);

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];

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

using System.Text.Json;

namespace Aetherra.Domain.Memory;

/// <summary>
/// A memory's free-form <c>metadata</c>: a flat object of string, number and boolean values, for the client's
/// own fields (a ticket id, a channel, a score) that filters can name as <c>metadata.&lt;key&gt;</c>. Unlike the
/// content it is not sealed with the subject's key: like tags, it stays readable after the subject is forgotten,
/// so it must not hold personal data.
/// </summary>
public static class MemoryMetadata
{
    public const int MaxKeys = 32;
    public const int MaxKeyLength = 64;
    public const int MaxStringLength = 1_000;
    public const int MaxBytes = 8_192;

    /// <summary>Why a key is not allowed, or null: 1 to 64 of letters, digits, '_', '-', '.' and ':'.</summary>
    public static string? KeyProblem(string key) =>
        key.Length is > 0 and <= MaxKeyLength && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':')
            ? null
            : $"A metadata key is 1 to {MaxKeyLength} characters of letters, digits, '_', '-', '.' and ':'.";

    /// <summary>
    /// A value as a filter compares it (string, decimal or bool), or null with the problem: objects, arrays and
    /// null are refused (metadata is flat), as are numbers outside the decimal range and over-long strings.
    /// </summary>
    public static object? ValueOf(JsonElement e, out string? problem)
    {
        problem = null;
        switch (e.ValueKind)
        {
            case JsonValueKind.String when e.GetString()!.Length <= MaxStringLength:
                return e.GetString();
            case JsonValueKind.String:
                problem = $"A metadata string holds at most {MaxStringLength} characters.";
                return null;
            case JsonValueKind.Number when e.TryGetDecimal(out var d):
                return d;
            case JsonValueKind.Number:
                problem = "A metadata number must be within ±7.9e28.";
                return null;
            case JsonValueKind.True or JsonValueKind.False:
                return e.GetBoolean();
            default:
                problem = "A metadata value is a string, a number or a boolean (no objects, arrays or null).";
                return null;
        }
    }

    /// <summary>Every problem of a metadata object, keyed by the path below <paramref name="path"/>.</summary>
    public static List<(string Path, string Message)> Problems(IReadOnlyDictionary<string, JsonElement>? metadata, string path)
    {
        var problems = new List<(string, string)>();
        if (metadata is null) return problems;
        if (metadata.Count > MaxKeys) problems.Add((path, $"At most {MaxKeys} metadata keys."));
        foreach (var (key, value) in metadata)
        {
            if (KeyProblem(key) is { } k) problems.Add(($"{path}.{key}", k));
            else if (ValueOf(value, out var v) is null) problems.Add(($"{path}.{key}", v!));
        }
        if (problems.Count == 0 && JsonSerializer.SerializeToUtf8Bytes(metadata).Length > MaxBytes)
            problems.Add((path, $"Metadata holds at most {MaxBytes} bytes of JSON."));
        return problems;
    }
}

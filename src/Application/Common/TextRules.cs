using System.Text.Json;
using FluentValidation;

namespace Aetherra.Application.Common;

/// <summary>
/// PostgreSQL cannot store NUL (U+0000) in text or jsonb: such input is refused at the edge (400), never
/// left to fail in the store (500).
/// </summary>
public static class TextRules
{
    public const string NulMessage = "'{PropertyName}' must not contain NUL (\\u0000).";

    public static IRuleBuilderOptions<T, string?> NoNul<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(s => s is null || !s.Contains('\0')).WithMessage(NulMessage);

    /// <summary>A JSON value with no NUL in any string or member name, and at most <paramref name="maxBytes"/> as text.</summary>
    public static IRuleBuilderOptions<T, JsonElement?> StorableJson<T>(this IRuleBuilder<T, JsonElement?> rule, int maxBytes) =>
        rule.Must(e => e is null || !HasNul(e.Value)).WithMessage(NulMessage)
            .Must(e => e is null || e.Value.GetRawText().Length <= maxBytes).WithMessage($"'{{PropertyName}}' is at most {maxBytes} characters of JSON.");

    public static bool HasNul(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!.Contains('\0'),
        JsonValueKind.Array => e.EnumerateArray().Any(HasNul),
        JsonValueKind.Object => e.EnumerateObject().Any(p => p.Name.Contains('\0') || HasNul(p.Value)),
        _ => false,
    };
}

using System.Text.Json;
using FluentValidation;

namespace Aetherra.Application.Common;

/// <summary>
/// Rules on free-form JSON a command carries. Text PostgreSQL cannot store (NUL, unpaired surrogates) is refused
/// for every field of every command before any validator runs (Api/Http/InputGuard.cs), so it is not repeated here.
/// </summary>
public static class TextRules
{
    /// <summary>A JSON value of at most <paramref name="maxBytes"/> characters as text.</summary>
    public static IRuleBuilderOptions<T, JsonElement?> StorableJson<T>(this IRuleBuilder<T, JsonElement?> rule, int maxBytes) =>
        rule.Must(e => e is null || e.Value.GetRawText().Length <= maxBytes).WithMessage($"'{{PropertyName}}' is at most {maxBytes} characters of JSON.");
}

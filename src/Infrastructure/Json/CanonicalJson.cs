using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Aetherra.Infrastructure.Json;

/// <summary>
/// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte sequence a JSON value signs as. Object members are
/// sorted by their names' UTF-16 code units, strings are escaped exactly as ECMAScript's JSON.stringify does,
/// numbers are written as ECMAScript's Number.prototype.toString writes an IEEE 754 double, and no whitespace
/// is emitted. Input that JCS cannot represent (duplicate member names, lone surrogates, numbers outside the
/// double range) is refused with <see cref="FormatException"/>, so a signature never covers an ambiguous text.
/// </summary>
public static class CanonicalJson
{
    public static byte[] Canonicalize(JsonElement value) => Encoding.UTF8.GetBytes(CanonicalText(value));

    public static string CanonicalText(JsonElement value)
    {
        var text = new StringBuilder();
        try
        {
            Write(value, text);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json refuses to unescape a lone surrogate ("\ud800") into a string.
            throw new FormatException(e.Message, e);
        }
        return text.ToString();
    }

    /// <summary>Parses a JSON text (UTF-8, strictly: no comments, no trailing commas) and canonicalizes it.</summary>
    public static string CanonicalText(string json)
    {
        using var document = JsonDocument.Parse(json);
        return CanonicalText(document.RootElement);
    }

    private static void Write(JsonElement value, StringBuilder text)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<(string Name, JsonElement Value)>();
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in value.EnumerateObject())
                {
                    if (!names.Add(p.Name)) throw new FormatException($"duplicate member name '{p.Name}'");
                    members.Add((p.Name, p.Value));
                }
                // string.CompareOrdinal compares UTF-16 code units, which is the order RFC 8785 section 3.2.3 asks for.
                members.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
                text.Append('{');
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0) text.Append(',');
                    WriteString(members[i].Name, text);
                    text.Append(':');
                    Write(members[i].Value, text);
                }
                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first) text.Append(',');
                    first = false;
                    Write(item, text);
                }
                text.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(value.GetString()!, text);
                break;
            case JsonValueKind.Number:
                if (!double.TryParse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                    throw new FormatException($"the number {value.GetRawText()} is not an IEEE 754 double");
                text.Append(FormatNumber(number));
                break;
            case JsonValueKind.True: text.Append("true"); break;
            case JsonValueKind.False: text.Append("false"); break;
            case JsonValueKind.Null: text.Append("null"); break;
            default: throw new FormatException($"unexpected JSON value kind {value.ValueKind}");
        }
    }

    /// <summary>JSON.stringify's escaping (RFC 8785 section 3.2.2.2): only '"', '\\' and control characters are escaped.</summary>
    private static void WriteString(string s, StringBuilder text)
    {
        text.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                text.Append(c).Append(s[++i]);
                continue;
            }
            if (char.IsSurrogate(c)) throw new FormatException("a string holds a lone surrogate, which has no UTF-8 form");
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (c < 0x20) text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }

    /// <summary>
    /// ECMAScript's Number::toString for a finite double (ECMA-262, 7.1.12.1): the shortest digits that round-trip
    /// (which .NET's "R" gives since .NET Core 3.0), placed in plain notation for exponents from -6 to 20 and in
    /// "d.ddde+x" notation outside; -0 is "0".
    /// </summary>
    public static string FormatNumber(double value)
    {
        if (value == 0) return "0";
        var negative = value < 0;
        // Shortest round-trip digits: "R" yields them, possibly in exponent form; normalise to digits + exponent.
        var shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var (digits, exponent) = Decompose(shortest);
        var k = digits.Length;
        var n = exponent; // value = 0.digits * 10^n
        var s = new StringBuilder();
        if (negative) s.Append('-');
        if (k <= n && n <= 21)
        {
            s.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            s.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            s.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            s.Append(digits[0]);
            if (k > 1) s.Append('.').Append(digits, 1, k - 1);
            var e = n - 1;
            s.Append('e').Append(e >= 0 ? '+' : '-').Append(Math.Abs(e).ToString(CultureInfo.InvariantCulture));
        }
        return s.ToString();
    }

    /// <summary>"1.2345E-07" or "123.45" -> ("12345", n) with value = 0.12345 * 10^n, no leading or trailing zeros.</summary>
    private static (string Digits, int Exponent) Decompose(string shortest)
    {
        var e = 0;
        var mantissa = shortest;
        var at = shortest.IndexOfAny(['E', 'e']);
        if (at >= 0)
        {
            e = int.Parse(shortest[(at + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = shortest[..at];
        }
        var dot = mantissa.IndexOf('.');
        var intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        var fracPart = dot >= 0 ? mantissa[(dot + 1)..] : "";
        var all = intPart + fracPart;
        var pointAt = intPart.Length + e;
        var lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') lead++;
        all = all[lead..];
        pointAt -= lead;
        all = all.TrimEnd('0');
        return (all.Length == 0 ? "0" : all, pointAt);
    }
}

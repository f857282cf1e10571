namespace Aetherra.Infrastructure.Database;

/// <summary>
/// Text PostgreSQL can store: no NUL (text and jsonb refuse it, 22021 and 22P05) and no unpaired UTF-16
/// surrogate (it has no UTF-8 form, so the driver refuses to encode it).
/// </summary>
public static class StorableText
{
    public static bool IsStorable(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0') return false;
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(c)) return false;
        }
        return true;
    }
}

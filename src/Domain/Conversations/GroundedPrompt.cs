using System.Text;
using System.Text.RegularExpressions;

namespace Aetherra.Domain.Conversations;

/// <summary>A memory recall returned for a reply, numbered in the prompt as [n] (n = its index + 1).</summary>
public readonly record struct RecalledMemory(Guid MemoryId, int Version, string Content, DateTimeOffset OccurredAt);

public readonly record struct PromptMessage(TurnRole Role, string Content);

/// <summary>What a model is asked: the instructions with the memories as numbered context, then the recent turns.</summary>
public sealed class GroundedPrompt(string system, IReadOnlyList<PromptMessage> messages, IReadOnlyList<RecalledMemory> memories)
{
    public string System { get; } = system;
    public IReadOnlyList<PromptMessage> Messages { get; } = messages;
    public IReadOnlyList<RecalledMemory> Memories { get; } = memories;
}

/// <summary>
/// How a reply is grounded, pure so that tests and documentation can show exactly what a model sees. The memories
/// come first and numbered, so that the model can cite them as [n] and the citations can be checked against what
/// was given; only the most recent turns follow, so a long conversation does not crowd the memories out.
/// </summary>
public static partial class Grounding
{
    public const int RecentTurns = 12;

    public static GroundedPrompt Build(IReadOnlyList<RecalledMemory> memories, IReadOnlyList<PromptMessage> history)
    {
        var system = new StringBuilder()
            .AppendLine("You are an assistant with a long-term memory. Answer the user's last message.")
            .AppendLine("Use the numbered memories below when they are relevant and cite each one you use as [n].")
            .AppendLine("If the memories do not contain the answer, say so plainly; never invent a memory.")
            .AppendLine()
            .AppendLine("Memories:");
        if (memories.Count == 0) system.AppendLine("(none)");
        for (var i = 0; i < memories.Count; i++)
            system.Append('[').Append(i + 1).Append("] (").Append(memories[i].OccurredAt.ToString("yyyy-MM-dd")).Append(") ")
                .AppendLine(OneLine(memories[i].Content));
        return new GroundedPrompt(system.ToString(), history.TakeLast(RecentTurns).ToList(), memories);
    }

    /// <summary>
    /// The answer without a model: the recalled memories, cited, in a fixed template. It never claims more than the
    /// memories say.
    /// </summary>
    public static string Extractive(IReadOnlyList<RecalledMemory> memories)
    {
        if (memories.Count == 0) return "I have nothing on record about that yet.";
        var text = new StringBuilder("Here is what I have on record that may help:");
        for (var i = 0; i < memories.Count; i++)
            text.Append('\n').Append('[').Append(i + 1).Append("] ").Append(OneLine(memories[i].Content));
        return text.ToString();
    }

    /// <summary>
    /// The memories a reply cites: those it names as [n] among the ones it was given, in order of first mention. A
    /// reply that names none was still grounded on all of them, so it cites all of them.
    /// </summary>
    public static IReadOnlyList<Citation> Citations(string reply, IReadOnlyList<RecalledMemory> memories)
    {
        var named = CitationMarker().Matches(reply)
            .Select(m => int.TryParse(m.Groups[1].ValueSpan, out var n) ? n : 0)
            .Where(n => n >= 1 && n <= memories.Count)
            .Distinct()
            .Select(n => memories[n - 1])
            .ToList();
        return (named.Count > 0 ? named : memories).Select(m => new Citation(m.MemoryId, m.Version)).ToList();
    }

    /// <summary>Text cut into the pieces it is streamed in: words with the whitespace before them.</summary>
    public static IReadOnlyList<string> Chunks(string text) =>
        WordWithLeadingSpace().Matches(text).Select(m => m.Value).ToList();

    /// <summary>A recorded reply cut back into the frames it was streamed in (their lengths are recorded with it).</summary>
    public static IReadOnlyList<string> Frames(string text, IReadOnlyList<int> lengths)
    {
        var frames = new List<string>(lengths.Count);
        var at = 0;
        foreach (var length in lengths)
        {
            if (length < 0 || at + length > text.Length) break;
            frames.Add(text.Substring(at, length));
            at += length;
        }
        return frames;
    }

    private static string OneLine(string s) => string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    [GeneratedRegex(@"\[(\d{1,3})\]")]
    private static partial Regex CitationMarker();

    [GeneratedRegex(@"\s*\S+|\s+$")]
    private static partial Regex WordWithLeadingSpace();
}

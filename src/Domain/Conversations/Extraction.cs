using System.Text;
using System.Text.Json;
using Aetherra.Domain.Memory;

namespace Aetherra.Domain.Conversations;

/// <summary>
/// A memory the provider extracted from a user turn. <c>Replaces</c> is the number ([n]) of the known memory it
/// contradicts and supersedes, among those it was shown; null for a memory that stands beside the others.
/// </summary>
public readonly record struct ExtractedMemory(string Content, MemoryKind Kind, double Importance, int? Replaces);

/// <summary>
/// How memories are extracted from what a user said (what Mem0's add(messages) does), pure so that tests and the
/// documentation show exactly what a model is asked and how its answer is read. The model sees the subject's
/// memories that recall found for the turn, numbered, so that it can name the one a new fact contradicts.
/// </summary>
public static class Extraction
{
    public const int MaxCandidates = 10;

    /// <summary>Where an extracted memory came from: the conversation and its turn.</summary>
    public static string Source(Guid conversationId, int turn) => $"conversation:{conversationId}/turn:{turn}";

    /// <summary>The revision reason of a memory that a later turn contradicted.</summary>
    public static string SupersededBy(Guid conversationId, int turn) => $"superseded by {Source(conversationId, turn)}";

    /// <summary>The JSON schema of the answer (sent as the response format; also spelled out in the instructions).</summary>
    public const string AnswerSchema = """
        {"type":"object","additionalProperties":false,"required":["memories"],"properties":{"memories":{"type":"array","items":{
        "type":"object","additionalProperties":false,"required":["content","kind","importance","replaces"],"properties":{
        "content":{"type":"string"},"kind":{"type":"string","enum":["fact","preference","episode","instruction","observation"]},
        "importance":{"type":"number"},"replaces":{"type":["integer","null"]}}}}}}
        """;

    public static string Instructions(string subject, IReadOnlyList<RecalledMemory> known)
    {
        var text = new StringBuilder()
            .Append("You extract long-term memories about the subject \"").Append(subject).AppendLine("\" from the user's last message.")
            .AppendLine("Keep only durable facts, preferences and instructions worth remembering in later conversations; skip small talk and questions.")
            .AppendLine("Write each memory as one short self-contained sentence in the third person.")
            .AppendLine("If a new memory contradicts one of the known memories below (the same thing, now different), set \"replaces\" to that memory's number; otherwise null.")
            .AppendLine("Never repeat a known memory that is still true.")
            .AppendLine("Answer with JSON only: {\"memories\": [{\"content\": string, \"kind\": \"fact\" | \"preference\" | \"episode\" | \"instruction\" | \"observation\", \"importance\": 0..1, \"replaces\": number | null}]}; an empty list when there is nothing to keep.")
            .AppendLine()
            .AppendLine("Known memories:");
        if (known.Count == 0) text.AppendLine("(none)");
        for (var i = 0; i < known.Count; i++)
            text.Append('[').Append(i + 1).Append("] ").AppendLine(string.Join(' ', known[i].Content.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
        return text.ToString();
    }

    /// <summary>
    /// The candidates of an answer, read leniently (a model may wrap its JSON in prose or a code fence) and checked
    /// strictly: an unknown kind, an empty content, or a <c>replaces</c> outside the memories shown is dropped, not
    /// trusted. Null when the answer holds no JSON object with a memories list at all.
    /// </summary>
    public static IReadOnlyList<ExtractedMemory>? Parse(string answer, int knownCount)
    {
        var start = answer.IndexOf('{');
        var end = answer.LastIndexOf('}');
        if (start < 0 || end <= start) return null;
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(answer.AsMemory(start, end - start + 1)).RootElement;
        }
        catch (JsonException)
        {
            return null;
        }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("memories", out var list) || list.ValueKind != JsonValueKind.Array)
            return null;
        var found = new List<ExtractedMemory>();
        foreach (var item in list.EnumerateArray().Take(MaxCandidates))
        {
            if (item.ValueKind != JsonValueKind.Object) continue;
            if (!item.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(c.GetString())) continue;
            var kind = MemoryKind.Fact;
            if (item.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String
                && (!Enum.TryParse(k.GetString(), true, out kind) || int.TryParse(k.GetString(), out _)))
                continue;
            var importance = item.TryGetProperty("importance", out var i) && i.ValueKind == JsonValueKind.Number && i.TryGetDouble(out var v)
                ? Math.Clamp(v, 0, 1) : 0.5;
            int? replaces = item.TryGetProperty("replaces", out var r) && r.ValueKind == JsonValueKind.Number && r.TryGetInt32(out var n)
                            && n >= 1 && n <= knownCount ? n : null;
            found.Add(new ExtractedMemory(c.GetString()!.Trim(), kind, importance, replaces));
        }
        return found;
    }
}

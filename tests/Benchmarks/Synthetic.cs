using System.Text;
using System.Text.Json;

namespace Aetherra.Benchmarks;

/// <summary>
/// Deterministic synthetic memories and queries for the recall benchmark. Words follow a Zipf law (exponent
/// 1.0) over a vocabulary of 120 common English words (the head: stop words and everyday words) followed by
/// pronounceable made-up words (the tail), so a term's selectivity varies as in natural text: a few words
/// are in most memories, most words in few. Memory i is a function of (seed, i) only, so a larger run
/// holds the smaller one's memories as its prefix. Subjects are dealt round-robin: memory i belongs to
/// subject i mod S, so every subject holds N/S memories. Practically every text is distinct.
/// </summary>
public sealed class Synthetic
{
    public const int Vocabulary = 20_000;
    private const int Head = 120;

    private static readonly string[] Common =
    [
        "the", "to", "and", "a", "of", "in", "is", "for", "on", "with", "at", "my", "it", "we", "about", "next", "week",
        "user", "meeting", "call", "project", "team", "likes", "prefers", "wants", "asked", "said", "sent", "moved",
        "booked", "ordered", "changed", "home", "work", "office", "friday", "monday", "morning", "evening", "dinner",
        "lunch", "coffee", "trip", "flight", "hotel", "train", "invoice", "payment", "budget", "report", "deadline",
        "doctor", "appointment", "birthday", "sister", "brother", "mother", "father", "daughter", "son", "friend",
        "dog", "cat", "garden", "kitchen", "car", "bike", "running", "yoga", "music", "guitar", "piano", "book",
        "movie", "concert", "holiday", "summer", "winter", "beach", "mountain", "city", "berlin", "paris", "london",
        "tokyo", "german", "french", "spanish", "english", "password", "laptop", "phone", "email", "address",
        "allergic", "peanuts", "vegetarian", "coffee", "tea", "wine", "pizza", "pasta", "salad", "chocolate", "cake",
        "school", "class", "exam", "course", "manager", "customer", "contract", "order", "shipping", "refund", "team"
    ];
    private static readonly string[] Onsets = ["b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr", "pl", "gr"];
    private static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ai", "ou"];

    private static readonly string[] Words = BuildWords();
    private static readonly double[] Cumulative = BuildCumulative();

    private readonly int _seed;
    public int Subjects { get; }

    public Synthetic(int seed, int subjects)
    {
        _seed = seed;
        Subjects = subjects;
    }

    public string SubjectOf(long i) => $"user-{i % Subjects:D4}";

    /// <summary>Memory <paramref name="i"/>: 8 to 24 words.</summary>
    public string Content(long i) => string.Join(' ', Ranks(i).Select(r => Words[r]));

    private int[] Ranks(long i)
    {
        var random = new Random(Mix(_seed, i));
        return Enumerable.Range(0, random.Next(8, 25)).Select(_ => Draw(random, 0)).ToArray();
    }

    /// <summary>
    /// Query <paramref name="q"/> over the first <paramref name="size"/> memories: 2 to 4 content words (past the
    /// 20 most frequent) of one memory drawn at random, in random order, asked of that memory's subject, so
    /// that every query has at least one memory holding all its words, as a question has its answer.
    /// </summary>
    public (string Text, string Subject) Query(int q, long size)
    {
        var random = new Random(Mix(_seed, -1L - q));
        var target = random.NextInt64(size);
        var content = Ranks(target).Where(r => r >= 20).Distinct().OrderBy(_ => random.Next()).ToList();
        if (content.Count == 0) content = [Draw(random, 20)];
        var words = content.Take(random.Next(2, 5)).Select(r => Words[r]);
        return (string.Join(' ', words), SubjectOf(target));
    }

    /// <summary>POST /memories/batch bodies for memories [from, to), 1,000 per body.</summary>
    public IEnumerable<byte[]> Bodies(long from, long to, int batch = 1000)
    {
        for (var start = from; start < to; start += batch)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 * 1024);
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteStartArray("memories");
                for (var i = start; i < Math.Min(to, start + batch); i++)
                {
                    json.WriteStartObject();
                    json.WriteString("content", Content(i));
                    json.WriteString("subject", SubjectOf(i));
                    json.WriteString("agent", "bench");
                    json.WriteString("kind", "fact");
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            yield return buffer.WrittenSpan.ToArray();
        }
    }

    private static int Draw(Random random, int minRank)
    {
        var low = Cumulative[minRank];
        var u = low + random.NextDouble() * (1 - low);
        var index = Array.BinarySearch(Cumulative, u);
        // The rank r with Cumulative[r] <= u < Cumulative[r + 1].
        return Math.Clamp(index < 0 ? ~index - 1 : index, minRank, Vocabulary - 1);
    }

    // HashCode.Combine is seeded per process; this is not (splitmix64's finaliser).
    private static int Mix(int seed, long i)
    {
        var z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)i);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }

    private static string[] BuildWords()
    {
        var words = new List<string>(Vocabulary);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var w in Common.Take(Head)) if (seen.Add(w)) words.Add(w);
        var random = new Random(7);
        while (words.Count < Vocabulary)
        {
            var syllables = random.Next(2, 4);
            var word = new StringBuilder();
            for (var s = 0; s < syllables; s++) word.Append(Onsets[random.Next(Onsets.Length)]).Append(Vowels[random.Next(Vowels.Length)]);
            if (random.Next(2) == 0) word.Append(Onsets[random.Next(10)]);
            if (seen.Add(word.ToString())) words.Add(word.ToString());
        }
        return words.ToArray();
    }

    // Cumulative[r] = P(rank < r) under Zipf(1.0).
    private static double[] BuildCumulative()
    {
        var weights = Enumerable.Range(1, Vocabulary).Select(r => 1.0 / r).ToArray();
        var total = weights.Sum();
        var cumulative = new double[Vocabulary + 1];
        for (var r = 0; r < Vocabulary; r++) cumulative[r + 1] = cumulative[r] + weights[r] / total;
        return cumulative;
    }
}

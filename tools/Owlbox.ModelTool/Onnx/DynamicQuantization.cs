using System.Buffers.Binary;

namespace Owlbox.ModelTool.Onnx;

/// <summary>
/// Int8 dynamic quantization as ONNX Runtime's <c>quantize_dynamic</c> writes it (the published
/// <c>model_quantized.onnx</c>): every MatMul becomes DynamicQuantizeLinear on each input computed at run time (uint8,
/// per tensor), MatMulInteger, and a float rescale by the product of the two scales. Inputs that are float initializers
/// (the weights) are stored as int8, symmetric, one scale per tensor, zero point 0 — so the file is about a quarter
/// the size and ONNX Runtime runs the products on its integer kernels (VNNI where the CPU has it).
/// </summary>
public static class DynamicQuantization
{
    public static OnnxGraph Apply(OnnxGraph graph)
    {
        var done = new Dictionary<string, (string, string, string)>(StringComparer.Ordinal); // a weight shared by MatMuls is stored once
        return graph.RewriteNodes((node, g, initializer) => Rewrite(node, g, initializer, done));
    }

    private static bool Rewrite(OnnxGraph.NodeView node, OnnxGraph g, Func<string, OnnxTensor?> initializer, Dictionary<string, (string, string, string)> done)
    {
        if (node.Op != "MatMul")
        {
            return false;
        }
        var quantized = new string[2];
        var scales = new string[2];
        var zeroPoints = new string[2];
        for (var i = 0; i < 2; i++)
        {
            if (initializer(node.Inputs[i]) is { Type: ElementType.Float } weight)
            {
                if (!done.TryGetValue(weight.Name, out var q))
                {
                    done[weight.Name] = q = QuantizeWeight(g, weight);
                }
                (quantized[i], scales[i], zeroPoints[i]) = q;
            }
            else
            {
                var outputs = g.NodeMulti("DynamicQuantizeLinear", [node.Inputs[i]], 3);
                (quantized[i], scales[i], zeroPoints[i]) = (outputs[0], outputs[1], outputs[2]);
            }
        }
        var product = g.Node("MatMulInteger", [quantized[0], quantized[1], zeroPoints[0], zeroPoints[1]]);
        var asFloat = g.Node("Cast", [product], [new Attr.Int("to", (long)ElementType.Float)]);
        g.Node("Mul", [asFloat, g.Node("Mul", [scales[0], scales[1]])], output: node.Outputs[0]);
        return true;
    }

    /// <summary>Symmetric per-tensor int8: q = round(w / s), s = max|w| / 127.</summary>
    public static (string Values, string Scale, string ZeroPoint) QuantizeWeight(OnnxGraph g, OnnxTensor weight)
    {
        var count = weight.RawData.Length / 4;
        var max = 0f;
        for (var i = 0; i < count; i++)
        {
            max = MathF.Max(max, MathF.Abs(BinaryPrimitives.ReadSingleLittleEndian(weight.RawData.AsSpan(i * 4))));
        }
        var scale = max > 0 ? max / 127f : 1f;
        var q = new byte[count];
        for (var i = 0; i < count; i++)
        {
            var v = MathF.Round(BinaryPrimitives.ReadSingleLittleEndian(weight.RawData.AsSpan(i * 4)) / scale);
            q[i] = unchecked((byte)(sbyte)Math.Clamp(v, -127f, 127f));
        }
        var values = g.Initializer(OnnxTensor.Bytes(weight.Name + "_quantized", ElementType.Int8, q, weight.Dims));
        var zeroPoint = g.Initializer(OnnxTensor.Bytes(g.Unique(weight.Name + "_zero_point"), ElementType.Int8, [0]));
        return (values, g.Scalar(scale), zeroPoint);
    }
}

using Google.Protobuf;
using Onnx;

namespace Owlbox.ModelPreparation;

/// <summary>
/// Int8 dynamic quantization of a model, as ONNX Runtime's <c>quantize_dynamic</c> writes it: every MatMul becomes DynamicQuantizeLinear of each input computed at run time (uint8, per
/// tensor), MatMulInteger, and a float rescale by the product of the two scales; a float weight (an initializer) is
/// stored as int8, symmetric, one scale per tensor, zero point 0. Used on the prepared encoders, whose head stays
/// float in the engine, and by the model tool for its int8 test and benchmark models.
/// </summary>
public static class DynamicQuantizer
{
    public static ModelProto Apply(ModelProto model)
    {
        var g = model.Graph;
        var initializers = g.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var done = new Dictionary<string, (string Values, string Scale, string ZeroPoint)>(StringComparer.Ordinal);
        var nodes = new List<NodeProto>(g.Node.Count * 2);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var n = 0;
        foreach (var node in g.Node)
        {
            if (node.OpType != "MatMul")
            {
                nodes.Add(node);
                continue;
            }
            var prefix = $"owlbox_q{n++}";
            var (q, s, z) = (new string[2], new string[2], new string[2]);
            for (var i = 0; i < 2; i++)
            {
                if (initializers.TryGetValue(node.Input[i], out var weight) && weight.DataType == (int)TensorProto.Types.DataType.Float && weight.DataLocation != TensorProto.Types.DataLocation.External)
                {
                    if (!done.TryGetValue(weight.Name, out var stored))
                    {
                        done[weight.Name] = stored = QuantizeWeight(g, weight);
                    }
                    (q[i], s[i], z[i]) = stored;
                    used.Add(weight.Name);
                }
                else
                {
                    var dq = new NodeProto { Name = $"{prefix}_dq{i}", OpType = "DynamicQuantizeLinear" };
                    dq.Input.Add(node.Input[i]);
                    dq.Output.AddRange([$"{prefix}_q{i}", $"{prefix}_s{i}", $"{prefix}_z{i}"]);
                    nodes.Add(dq);
                    (q[i], s[i], z[i]) = (dq.Output[0], dq.Output[1], dq.Output[2]);
                }
            }
            nodes.Add(Node("MatMulInteger", $"{prefix}_mm", [q[0], q[1], z[0], z[1]], $"{prefix}_int"));
            var cast = Node("Cast", $"{prefix}_cast", [$"{prefix}_int"], $"{prefix}_float");
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float });
            nodes.Add(cast);
            nodes.Add(Node("Mul", $"{prefix}_scales", [s[0], s[1]], $"{prefix}_scale"));
            nodes.Add(Node("Mul", $"{prefix}_rescale", [$"{prefix}_float", $"{prefix}_scale"], node.Output[0]));
        }
        g.Node.Clear();
        g.Node.AddRange(nodes);
        // A float weight only MatMuls read is now stored as int8 alone.
        var stillRead = nodes.SelectMany(GraphPartition.Reads).ToHashSet(StringComparer.Ordinal);
        var keep = g.Initializer.Where(i => !used.Contains(i.Name) || stillRead.Contains(i.Name)).ToList();
        g.Initializer.Clear();
        g.Initializer.AddRange(keep);
        return model;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string output)
    {
        var node = new NodeProto { Name = name, OpType = op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    /// <summary>Symmetric per-tensor int8: q = round(w / s), s = max|w| / 127.</summary>
    private static (string Values, string Scale, string ZeroPoint) QuantizeWeight(GraphProto g, TensorProto weight)
    {
        var values = weight.RawData.Length > 0
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(weight.RawData.Span).ToArray()
            : weight.FloatData.ToArray();
        var max = values.Length == 0 ? 0 : values.Max(MathF.Abs);
        var scale = max > 0 ? max / 127f : 1f;
        var q = values.Select(v => unchecked((byte)(sbyte)Math.Clamp(MathF.Round(v / scale), -127f, 127f))).ToArray();
        var quantized = new TensorProto { Name = weight.Name + "_quantized", DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(q) };
        quantized.Dims.AddRange(weight.Dims);
        var scaleTensor = new TensorProto { Name = weight.Name + "_scale", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(scale)) };
        var zero = new TensorProto { Name = weight.Name + "_zero_point", DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom((byte)0) };
        g.Initializer.Add(quantized);
        g.Initializer.Add(scaleTensor);
        g.Initializer.Add(zero);
        return (quantized.Name, scaleTensor.Name, zero.Name);
    }
}

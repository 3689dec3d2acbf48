using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using Owlbox.Models;

namespace Owlbox.ModelPreparation;

/// <summary>
/// The fp16 form of a model for a GPU, as onnxconverter-common's <c>convert_float_to_float16(keep_io_types=True)</c>
/// writes it: every float weight and constant stored as float16 and every float computation in float16, while the
/// graph's inputs and outputs stay float32 (a Cast after each float input, one before each float output), so the
/// engine feeds and reads it as the fp32 form and its class head stays fp32. Operators that take float parameters
/// only as float32 (Resize's scales, Range, TopK...) run in float32 between casts. Values outside float16's range are
/// clamped to ±65504, as the converter does.
/// </summary>
public static class Float16Converter
{
    private const int Float = (int)TensorProto.Types.DataType.Float;
    private const int Float16 = (int)TensorProto.Types.DataType.Float16;

    /// <summary>Kept in float32: their float inputs are parameters ONNX types as float, or kernels lack float16.</summary>
    private static readonly HashSet<string> s_float32Only = new(StringComparer.Ordinal)
    {
        "Resize", "Upsample", "Range", "TopK", "NonMaxSuppression", "RoiAlign", "RandomUniformLike", "RandomNormalLike", "CumSum",
    };

    /// <summary>Operators whose outputs are not float whatever their inputs.</summary>
    private static readonly HashSet<string> s_nonFloatOutputs = new(StringComparer.Ordinal)
    {
        "Shape", "Size", "ArgMax", "ArgMin", "NonZero", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
        "Not", "And", "Or", "Xor", "IsNaN", "IsInf",
    };

    public static ModelProto Apply(ModelProto model)
    {
        var g = model.Graph;
        // Which values are float16 once converted, followed through the graph in order: narrowed weights and
        // constants, the casts of float inputs, and what an operator computes from a float16 value.
        var half = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in g.Initializer.Where(t => t.DataType == Float))
        {
            Narrow(t);
            half.Add(t.Name);
        }
        var nodes = new List<NodeProto>(g.Node.Count + 16);
        var n = 0;
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in g.Input.Where(i => i.Type?.TensorType?.ElemType == Float && !g.Initializer.Any(t => t.Name == i.Name)))
        {
            var cast = $"{input.Name}_owlbox_fp16";
            nodes.Add(Cast($"owlbox_fp16_in{n++}", input.Name, cast, Float16));
            renamed[input.Name] = cast;
            half.Add(cast);
        }
        var tail = new List<NodeProto>();
        foreach (var node in g.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (renamed.TryGetValue(node.Input[i], out var r))
                {
                    node.Input[i] = r;
                }
            }
            var computesHalf = false;
            foreach (var a in node.Attribute)
            {
                if (a.G is not null || a.Graphs.Count > 0)
                {
                    throw new ModelException($"node '{node.Name}' ({node.OpType}) has a subgraph; the fp16 form is written for straight-line encoders only");
                }
                if (a.T is { DataType: Float } tensor)
                {
                    Narrow(tensor); // Constant and ConstantOfShape values
                    computesHalf = true;
                }
                if (a.Name == "to" && node.OpType == "Cast" && a.I == Float)
                {
                    a.I = Float16;
                    computesHalf = true;
                }
            }
            var readsHalf = node.Input.Any(half.Contains);
            if (s_float32Only.Contains(node.OpType) && readsHalf)
            {
                // Run in float32 between casts: its float16 inputs widened, its float outputs narrowed back.
                for (var i = 0; i < node.Input.Count; i++)
                {
                    if (half.Contains(node.Input[i]))
                    {
                        var wide = $"{node.Input[i]}_owlbox_fp32_{n}";
                        nodes.Add(Cast($"owlbox_fp32_in{n++}", node.Input[i], wide, Float));
                        node.Input[i] = wide;
                    }
                }
                nodes.Add(node);
                var narrowed = node.OpType == "TopK" ? [node.Output[0]] : node.Output.Where(o => o.Length > 0).ToArray();
                for (var i = 0; i < node.Output.Count; i++)
                {
                    if (narrowed.Contains(node.Output[i]))
                    {
                        var (wide, name) = ($"{node.Output[i]}_owlbox_fp32", node.Output[i]);
                        node.Output[i] = wide;
                        nodes.Add(Cast($"owlbox_fp16_back{n++}", wide, name, Float16));
                        half.Add(name);
                    }
                }
                continue;
            }
            nodes.Add(node);
            if (node.OpType == "Cast" ? computesHalf : (computesHalf || readsHalf) && !s_nonFloatOutputs.Contains(node.OpType))
            {
                var outputs = node.OpType is "TopK" or "Unique" ? node.Output.Take(1) : node.Output;
                foreach (var o in outputs.Where(o => o.Length > 0))
                {
                    half.Add(o);
                }
            }
        }
        // Float outputs: computed in float16 under another name, cast back to float32 under their own.
        foreach (var output in g.Output.Where(o => half.Contains(o.Name)))
        {
            var name = output.Name;
            var producer = nodes.Last(x => x.Output.Contains(name));
            producer.Output[producer.Output.IndexOf(name)] = $"{name}_owlbox_fp16";
            foreach (var reader in nodes.Where(x => x.Input.Contains(name)))
            {
                for (var i = 0; i < reader.Input.Count; i++)
                {
                    if (reader.Input[i] == name)
                    {
                        reader.Input[i] = $"{name}_owlbox_fp16";
                    }
                }
            }
            tail.Add(Cast($"owlbox_fp16_out{n++}", $"{name}_owlbox_fp16", name, Float));
        }
        nodes.AddRange(tail);
        g.Node.Clear();
        g.Node.AddRange(nodes);
        g.ValueInfo.Clear(); // intermediate types changed: ONNX Runtime infers them again
        return model;
    }

    private static NodeProto Cast(string name, string input, string output, int to)
    {
        var node = new NodeProto { Name = name, OpType = "Cast" };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = to });
        return node;
    }

    /// <summary>A float tensor rewritten as float16, in place (raw data, or the float_data field).</summary>
    private static void Narrow(TensorProto t)
    {
        if (t.DataType != Float || t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            return;
        }
        var values = t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : t.FloatData.ToArray();
        var halves = new Half[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            halves[i] = (Half)Math.Clamp(values[i], -65504f, 65504f);
        }
        t.FloatData.Clear();
        t.DataType = Float16;
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
    }
}

using System.Buffers.Binary;

namespace Owlbox.ModelTool.Onnx;

/// <summary>ONNX tensor element types used here (TensorProto.DataType).</summary>
public enum ElementType
{
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
}

/// <summary>A dimension of a graph input or output: a fixed size or a named symbolic one.</summary>
public readonly record struct Dim(long Value, string? Param)
{
    public static implicit operator Dim(long value) => new(value, null);
    public static implicit operator Dim(string param) => new(0, param);
}

/// <summary>An ONNX attribute value; only the kinds our graphs need.</summary>
public abstract record Attr(string Name)
{
    public sealed record Int(string Name, long Value) : Attr(Name);
    public sealed record Float(string Name, float Value) : Attr(Name);
    public sealed record Ints(string Name, long[] Values) : Attr(Name);
    public sealed record Str(string Name, string Value) : Attr(Name);
    public sealed record Tensor(string Name, OnnxTensor Value) : Attr(Name);
}

/// <summary>A constant tensor (initializer), stored little-endian as ONNX raw_data.</summary>
public sealed record OnnxTensor(string Name, ElementType Type, long[] Dims, byte[] RawData)
{
    public static OnnxTensor Floats(string name, float[] values, params long[] dims)
    {
        var raw = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        }
        return new OnnxTensor(name, ElementType.Float, dims, raw);
    }

    public static OnnxTensor Int64s(string name, long[] values, params long[] dims)
    {
        var raw = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), values[i]);
        }
        return new OnnxTensor(name, ElementType.Int64, dims, raw);
    }

    public static OnnxTensor Bytes(string name, ElementType type, byte[] values, params long[] dims) => new(name, type, dims, values);
}

/// <summary>
/// A small builder for ONNX graphs: each <see cref="Node"/> call appends a node and returns its output name, so a
/// model reads like the maths it computes. <see cref="ToModelBytes"/> writes a deterministic ModelProto.
/// </summary>
public sealed class OnnxGraph(string name, int opset = OnnxGraph.DefaultOpset)
{
    public const int DefaultOpset = 17;

    private readonly List<(string Name, ElementType Type, Dim[] Shape)> _inputs = [];
    private readonly List<(string Name, ElementType Type, Dim[] Shape)> _outputs = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly List<(string Op, string[] Inputs, string[] Outputs, Attr[] Attrs, string NodeName, string Domain)> _nodes = [];
    private int _counter;

    public string Input(string inputName, ElementType type, params Dim[] shape)
    {
        _inputs.Add((inputName, type, shape));
        return inputName;
    }

    public void Output(string value, string outputName, ElementType type, params Dim[] shape)
    {
        if (value != outputName)
        {
            Node("Identity", [value], output: outputName);
        }
        _outputs.Add((outputName, type, shape));
    }

    public string Initializer(OnnxTensor tensor)
    {
        _initializers.Add(tensor);
        return tensor.Name;
    }

    public string Floats(string hint, float[] values, params long[] dims) => Initializer(OnnxTensor.Floats(Unique(hint), values, dims));

    public string Scalar(float value) => Floats("c", [value]);

    public string Int64s(string hint, params long[] values) => Initializer(OnnxTensor.Int64s(Unique(hint), values, values.Length));

    public string Node(string op, string[] inputs, Attr[]? attrs = null, string? output = null) =>
        NodeMulti(op, inputs, 1, attrs, output is null ? null : [output])[0];

    public string[] NodeMulti(string op, string[] inputs, int outputCount, Attr[]? attrs = null, string[]? outputs = null, string domain = "")
    {
        var nodeName = Unique(op);
        outputs ??= Enumerable.Range(0, outputCount).Select(i => $"{nodeName}_out{i}").ToArray();
        _nodes.Add((op, inputs, outputs, attrs ?? [], nodeName, domain));
        return outputs;
    }

    /// <summary>ONNX Runtime's contrib operator domain (fused kernels such as MultiHeadAttention).</summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>A node from ONNX Runtime's contrib domain; the model then imports that domain too.</summary>
    public string ContribNode(string op, string[] inputs, Attr[]? attrs = null) => NodeMulti(op, inputs, 1, attrs, domain: MicrosoftDomain)[0];

    public string Unique(string hint) => $"{hint}_{_counter++}";

    /// <summary>Drops every node, initializer and input the outputs do not depend on (to cut one graph into parts).</summary>
    public OnnxGraph Pruned()
    {
        var needed = new HashSet<string>(_outputs.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[_nodes.Count];
        for (var i = _nodes.Count - 1; i >= 0; i--)
        {
            if (_nodes[i].Outputs.Any(needed.Contains))
            {
                keep[i] = true;
                foreach (var input in _nodes[i].Inputs)
                {
                    needed.Add(input);
                }
            }
        }
        var nodes = _nodes.Where((_, i) => keep[i]).ToList();
        _nodes.Clear();
        _nodes.AddRange(nodes);
        _initializers.RemoveAll(t => !needed.Contains(t.Name));
        _inputs.RemoveAll(x => !needed.Contains(x.Name));
        return this;
    }

    /// <summary>A node as the graph holds it, for <see cref="RewriteNodes"/>.</summary>
    public readonly record struct NodeView(string Op, string[] Inputs, string[] Outputs);

    /// <summary>Rebuilds the node list: for each node in order, <paramref name="rewrite"/> may emit replacement nodes on
    /// the graph (writing the node's outputs) and return true, or return false to keep the node as it is. Initializers
    /// nothing uses any more are dropped.</summary>
    public OnnxGraph RewriteNodes(Func<NodeView, OnnxGraph, Func<string, OnnxTensor?>, bool> rewrite)
    {
        var byName = _initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var original = _nodes.ToList();
        _nodes.Clear();
        foreach (var node in original)
        {
            if (!rewrite(new NodeView(node.Op, node.Inputs, node.Outputs), this, n => byName.GetValueOrDefault(n)))
            {
                _nodes.Add(node);
            }
        }
        var used = new HashSet<string>(_nodes.SelectMany(n => n.Inputs), StringComparer.Ordinal);
        _initializers.RemoveAll(t => !used.Contains(t.Name));
        return this;
    }

    public long ParameterCount => _initializers.Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b));

    public byte[] ToModelBytes(string producer = "owlbox-model-tool")
    {
        var w = new ProtoWriter();
        w.Varint(1, 8); // ir_version 8 pairs with opset 17
        w.String(2, producer);
        w.Message(7, WriteGraph);
        w.Message(8, o =>
        {
            o.String(1, "");
            o.Varint(2, opset);
        });
        if (_nodes.Any(n => n.Domain == MicrosoftDomain))
        {
            w.Message(8, o =>
            {
                o.String(1, MicrosoftDomain);
                o.Varint(2, 1);
            });
        }
        return w.ToArray();
    }

    private void WriteGraph(ProtoWriter g)
    {
        foreach (var (op, inputs, outputs, attrs, nodeName, domain) in _nodes)
        {
            g.Message(1, n =>
            {
                foreach (var i in inputs)
                {
                    n.String(1, i);
                }
                foreach (var o in outputs)
                {
                    n.String(2, o);
                }
                n.String(3, nodeName);
                n.String(4, op);
                if (domain.Length > 0)
                {
                    n.String(7, domain);
                }
                foreach (var a in attrs)
                {
                    n.Message(5, aw => WriteAttr(aw, a));
                }
            });
        }
        g.String(2, name);
        foreach (var t in _initializers)
        {
            g.Message(5, tw => WriteTensor(tw, t));
        }
        foreach (var (n, t, s) in _inputs)
        {
            g.Message(11, v => WriteValueInfo(v, n, t, s));
        }
        foreach (var (n, t, s) in _outputs)
        {
            g.Message(12, v => WriteValueInfo(v, n, t, s));
        }
    }

    private static void WriteTensor(ProtoWriter t, OnnxTensor tensor)
    {
        if (tensor.Dims.Length > 0)
        {
            t.PackedVarints(1, tensor.Dims);
        }
        t.Varint(2, (long)tensor.Type);
        t.String(8, tensor.Name);
        t.Bytes(9, tensor.RawData);
    }

    private static void WriteAttr(ProtoWriter a, Attr attr)
    {
        a.String(1, attr.Name);
        switch (attr)
        {
            case Attr.Float f:
                a.Float(2, f.Value);
                a.Varint(20, 1);
                break;
            case Attr.Int i:
                a.Varint(3, i.Value);
                a.Varint(20, 2);
                break;
            case Attr.Str s:
                a.String(4, s.Value);
                a.Varint(20, 3);
                break;
            case Attr.Tensor t:
                a.Message(5, tw => WriteTensor(tw, t.Value));
                a.Varint(20, 4);
                break;
            case Attr.Ints ints:
                a.PackedVarints(8, ints.Values);
                a.Varint(20, 7);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(attr), attr, null);
        }
    }

    private static void WriteValueInfo(ProtoWriter v, string valueName, ElementType type, Dim[] shape)
    {
        v.String(1, valueName);
        v.Message(2, tp => tp.Message(1, tt =>
        {
            tt.Varint(1, (long)type);
            tt.Message(2, sh =>
            {
                foreach (var d in shape)
                {
                    sh.Message(1, dim =>
                    {
                        if (d.Param is null)
                        {
                            dim.Varint(1, d.Value);
                        }
                        else
                        {
                            dim.String(2, d.Param);
                        }
                    });
                }
            });
        }));
    }
}

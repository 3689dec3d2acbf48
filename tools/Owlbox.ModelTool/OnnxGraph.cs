using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Owlbox.ModelTool;

/// <summary>
/// A small builder for ONNX graphs on onnx.proto's classes (the product's): each <see cref="Node"/> call appends a node
/// and returns its output name, so a model reads like the maths it computes. <see cref="ToModel"/> gives the
/// ModelProto, which the product's passes (e.g. <c>DynamicQuantizer</c>) take as they take a published export.
/// </summary>
public sealed class OnnxGraph(string name, int opset = OnnxGraph.DefaultOpset)
{
    public const int DefaultOpset = 17;

    /// <summary>ONNX Runtime's contrib operator domain (fused kernels such as MultiHeadAttention).</summary>
    public const string MicrosoftDomain = "com.microsoft";

    private readonly GraphProto _graph = new() { Name = name };
    private int _counter;

    public string Input(string inputName, DataType type, params Dim[] shape)
    {
        _graph.Input.Add(Tensors.ValueInfo(inputName, type, shape));
        return inputName;
    }

    public void Output(string value, string outputName, DataType type, params Dim[] shape)
    {
        if (value != outputName)
        {
            Node("Identity", [value], output: outputName);
        }
        _graph.Output.Add(Tensors.ValueInfo(outputName, type, shape));
    }

    public string Initializer(TensorProto tensor)
    {
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public string Floats(string hint, float[] values, params long[] dims) => Initializer(Tensors.Floats(Unique(hint), values, dims));

    public string Scalar(float value) => Floats("c", [value]);

    public string Int64s(string hint, params long[] values) => Initializer(Tensors.Int64s(Unique(hint), values, values.Length));

    public string Node(string op, string[] inputs, AttributeProto[]? attrs = null, string? output = null) =>
        NodeMulti(op, inputs, 1, attrs, output is null ? null : [output])[0];

    public string[] NodeMulti(string op, string[] inputs, int outputCount, AttributeProto[]? attrs = null, string[]? outputs = null, string domain = "")
    {
        var nodeName = Unique(op);
        outputs ??= [.. Enumerable.Range(0, outputCount).Select(i => $"{nodeName}_out{i}")];
        var node = new NodeProto { Name = nodeName, OpType = op, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attrs ?? []);
        _graph.Node.Add(node);
        return outputs;
    }

    /// <summary>A node from ONNX Runtime's contrib domain; the model then imports that domain too.</summary>
    public string ContribNode(string op, string[] inputs, AttributeProto[]? attrs = null) => NodeMulti(op, inputs, 1, attrs, domain: MicrosoftDomain)[0];

    public string Unique(string hint) => $"{hint}_{_counter++}";

    /// <summary>Drops every node, initializer and input the outputs do not depend on (to cut one graph into parts).</summary>
    public OnnxGraph Pruned()
    {
        var needed = new HashSet<string>(_graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[_graph.Node.Count];
        for (var i = _graph.Node.Count - 1; i >= 0; i--)
        {
            if (_graph.Node[i].Output.Any(needed.Contains))
            {
                keep[i] = true;
                needed.UnionWith(_graph.Node[i].Input);
            }
        }
        var nodes = _graph.Node.Where((_, i) => keep[i]).ToList();
        _graph.Node.Clear();
        _graph.Node.AddRange(nodes);
        Retain(_graph.Initializer, t => needed.Contains(t.Name));
        Retain(_graph.Input, x => needed.Contains(x.Name));
        return this;
    }

    public long ParameterCount => _graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b));

    /// <summary>The model: IR 8 (which pairs with opset 17), the default domain, and ONNX Runtime's contrib domain where
    /// a node uses it. It holds this builder's graph, not a copy (full-size graphs are hundreds of MB).</summary>
    public ModelProto ToModel(string producer = "owlbox-model-tool")
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = producer, Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        if (_graph.Node.Any(n => n.Domain == MicrosoftDomain))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }
        return model;
    }

    public byte[] ToModelBytes(string producer = "owlbox-model-tool") => ToModel(producer).ToByteArray();

    private static void Retain<T>(Google.Protobuf.Collections.RepeatedField<T> items, Func<T, bool> keep)
    {
        var kept = items.Where(keep).ToList();
        items.Clear();
        items.AddRange(kept);
    }
}

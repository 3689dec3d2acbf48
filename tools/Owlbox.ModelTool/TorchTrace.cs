using Google.Protobuf;
using Onnx;

namespace Owlbox.ModelTool;

/// <summary>
/// Writes an ONNX graph on onnx.proto's classes the way torch.onnx names what it traces: a node is
/// <c>/{module path}/{OpType}</c> (<c>_1</c>, <c>_2</c>… for repeats in one module), its output that name plus
/// <c>_output_0</c>; parameters are initializers named by their module path (<c>class_head.dense0.bias</c>), the weight
/// of a Linear a transposed <c>onnx::MatMul_N</c>; small constants are Constant nodes, as the exporter leaves them.
/// </summary>
public sealed class TorchTrace(string graphName, int opset = 17)
{
    private readonly Dictionary<string, int> _seen = new(StringComparer.Ordinal);
    private int _anonymous = 1000;

    public GraphProto Graph { get; } = new() { Name = graphName };

    public int Opset { get; } = opset;

    public ModelProto Model()
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "pytorch", ProducerVersion = "2.5.1", Graph = Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        Graph.Input.Add(Value(name, type, dims));
        return name;
    }

    public void Output(string tensor, string name, TensorProto.Types.DataType type, params object[] dims)
    {
        if (tensor != name)
        {
            // torch.onnx renames the producing node's output to the output name it was given
            foreach (var node in Graph.Node)
            {
                for (var i = 0; i < node.Output.Count; i++)
                {
                    node.Output[i] = node.Output[i] == tensor ? name : node.Output[i];
                }
                for (var i = 0; i < node.Input.Count; i++)
                {
                    node.Input[i] = node.Input[i] == tensor ? name : node.Input[i];
                }
            }
        }
        Graph.Output.Add(Value(name, type, dims));
    }

    /// <summary>Renames a tensor everywhere it is written or read (an exporter that names internal tensors by variable).</summary>
    public string Rename(string tensor, string name)
    {
        foreach (var node in Graph.Node)
        {
            for (var i = 0; i < node.Output.Count; i++)
            {
                node.Output[i] = node.Output[i] == tensor ? name : node.Output[i];
            }
            for (var i = 0; i < node.Input.Count; i++)
            {
                node.Input[i] = node.Input[i] == tensor ? name : node.Input[i];
            }
        }
        return name;
    }

    public string Op(string scope, string op, string[] inputs, params AttributeProto[] attributes)
    {
        var key = scope + "/" + op;
        var n = _seen.GetValueOrDefault(key);
        _seen[key] = n + 1;
        var name = (scope.Length == 0 ? "" : "/" + scope) + "/" + op + (n == 0 ? "" : "_" + n);
        var node = new NodeProto { Name = name, OpType = op };
        node.Input.AddRange(inputs);
        node.Output.Add(name + "_output_0");
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return node.Output[0];
    }

    public string Weight(string name, float[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        tensor.RawData = ByteString.CopyFrom(bytes);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A Linear's weight as torch.onnx writes it: transposed for MatMul, under an anonymous name.</summary>
    public string MatMulWeight(float[] values, long inDim, long outDim) => Weight($"onnx::MatMul_{_anonymous++}", values, inDim, outDim);

    public string Floats(string scope, params float[] values) => Constant(scope, Tensor(TensorProto.Types.DataType.Float, values.Length == 1 ? [] : [values.Length], f => f.FloatData.AddRange(values)));

    public string Longs(string scope, params long[] values) => Constant(scope, Tensor(TensorProto.Types.DataType.Int64, [values.Length], t => t.Int64Data.AddRange(values)));

    public string Long(string scope, long value) => Constant(scope, Tensor(TensorProto.Types.DataType.Int64, [], t => t.Int64Data.Add(value)));

    private string Constant(string scope, TensorProto value) =>
        Op(scope, "Constant", [], new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });

    private static TensorProto Tensor(TensorProto.Types.DataType type, long[] dims, Action<TensorProto> fill)
    {
        var t = new TensorProto { DataType = (int)type };
        t.Dims.AddRange(dims);
        fill(t);
        return t;
    }

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, object[] dims) =>
        Tensors.ValueInfo(name, type, dims.Select(d => d is string p ? (Dim)p : Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)));
}

using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Owlbox.Detection.Tests;
using Owlbox.ModelTool;
using DataType = Onnx.TensorProto.Types.DataType;
using Owlbox.ModelPreparation;

namespace Owlbox.ModelPreparation.Tests;

/// <summary>The fp16 form: float16 weights and computation inside, float32 in and out, integer values untouched, and
/// the operators that take float parameters only as float32 run in float32 between casts.</summary>
public sealed class Float16ConverterTests
{
    /// <summary>x [2, 8] → MatMul(w) + b → LayerNorm → TopK(k = 3) → values (float) and indices (int64); Shape of the
    /// hidden value cast to float, times a Constant, as a third output.</summary>
    private static byte[] Graph()
    {
        var random = new Random(3);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        var g = new OnnxGraph("fp16-probe");
        var x = g.Input("x", DataType.Float, 2, 8);
        var h = g.Node("Add", [g.Node("MatMul", [x, g.Floats("w", Values(8 * 6), 8, 6)]), g.Floats("b", Values(6), 6)]);
        h = g.Node("LayerNormalization", [h, g.Floats("ln_g", Values(6), 6), g.Floats("ln_b", Values(6), 6)], [Attr.Int("axis", -1)]);
        var top = g.NodeMulti("TopK", [h, g.Int64s("k", 3)], 2, [Attr.Int("axis", -1)]);
        var shape = g.Node("Mul", [g.Node("Cast", [g.Node("Shape", [h])], [Attr.Int("to", 1)]), g.Scalar(0.5f)]);
        g.Output(top[0], "values", DataType.Float, 2, 3);
        g.Output(top[1], "indices", DataType.Int64, 2, 3);
        g.Output(shape, "half_shape", DataType.Float, 2);
        return g.ToModelBytes();
    }

    [Fact]
    public void TheConvertedGraph_KeepsItsContract_StoresHalves_AndComputesWhatFp32Computes()
    {
        var fp32 = Graph();
        var converted = Float16Converter.Apply(ModelProto.Parser.ParseFrom(fp32));

        const int half = (int)TensorProto.Types.DataType.Float16;
        Assert.All(converted.Graph.Initializer.Where(t => t.Name.StartsWith('w') || t.Name.StartsWith("ln_", StringComparison.Ordinal)), t => Assert.Equal(half, t.DataType));
        Assert.Equal((int)TensorProto.Types.DataType.Int64, converted.Graph.Initializer.Single(t => t.Name.StartsWith('k')).DataType);
        var topK = converted.Graph.Node.Single(n => n.OpType == "TopK");
        Assert.All(converted.Graph.Node.Where(n => topK.Input.Contains(n.Output[0]) && n.OpType == "Cast"), c => Assert.Equal(1, c.Attribute.Single().I)); // widened to float32 before TopK

        var x = new float[] { 0.1f, -0.4f, 0.9f, 0.3f, -0.8f, 0.5f, 0.0f, 0.7f, -0.2f, 0.6f, 0.4f, -0.9f, 0.8f, -0.1f, 0.2f, -0.5f };
        var (a, b) = (Run(fp32, x), Run(converted.ToByteArray(), x));

        Assert.Equal(a.Indices, b.Indices); // int64 through untouched, same order
        Assert.Equal(a.HalfShape, b.HalfShape); // [1, 3]: the shape path stayed integral until its own cast
        Assert.All(a.Values.Zip(b.Values), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-2 * (1 + Math.Abs(p.First)), $"{p.First} vs {p.Second}"));
        Assert.NotEqual(a.Values, b.Values); // it did compute with float16 weights
    }

    private static (float[] Values, long[] Indices, float[] HalfShape) Run(byte[] model, float[] x)
    {
        using var session = new InferenceSession(model);
        Assert.Equal(typeof(float), session.InputMetadata["x"].ElementType);
        Assert.Equal(typeof(float), session.OutputMetadata["values"].ElementType);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [2, 8]);
        using var outputs = session.Run(new RunOptions(), ["x"], [input], ["values", "indices", "half_shape"]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<long>().ToArray(), outputs[2].GetTensorDataAsSpan<float>().ToArray());
    }
}

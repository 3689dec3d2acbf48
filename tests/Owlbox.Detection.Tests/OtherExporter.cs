using Google.Protobuf;
using Onnx;

namespace Owlbox.Detection.Tests;

/// <summary>
/// A second generator of OWL-contract graphs, built unlike the project's model tool: the image batch baked at 1 into
/// <c>pixel_values</c> and into a reshape constant, constants as Constant nodes rather than initializers, node names
/// of its own, a box head with a baked bias, ReduceL2 normalisation, and the query mask computed inside the head. What
/// it computes is a toy (a linear patch embedding), but with the OWL head's arithmetic, so a split by data flow and
/// the engine's class head must give its logits exactly.
/// </summary>
public static class OtherExporter
{
    private const int Side = 768;
    private const int Patch = 32;
    private const int Dim = 16;
    private const int Vocabulary = 49408;

    /// <summary>Writes <c>onnx/model.onnx</c> and the OWL-ViT test model's config, preprocessor and tokenizer files.</summary>
    public static void Write(string directory, int seed = 11)
    {
        Directory.CreateDirectory(Path.Combine(directory, "onnx"));
        foreach (var f in new[] { "config.json", "preprocessor_config.json", "tokenizer.json" })
        {
            File.Copy(Path.Combine(TestSupport.ModelDir("owlvit-test"), f), Path.Combine(directory, f), overwrite: true);
        }
        var random = new Random(seed);
        float[] Weights(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var patches = Side / Patch * (Side / Patch);
        var features = 3 * Patch * Patch;
        var g = new GraphProto { Name = "other_exporter" };
        g.Input.Add(Value("pixel_values", 1, 1, 3, Side, Side));
        g.Input.Add(Value("input_ids", 7, -1, -1));
        g.Input.Add(Value("attention_mask", 7, -1, -1));
        g.Output.Add(Value("logits", 1, 1, patches, -1));
        g.Output.Add(Value("pred_boxes", 1, 1, patches, 4));
        g.Initializer.Add(Floats("w_embed", Weights(features * Dim, 0.02), features, Dim));
        g.Initializer.Add(Floats("w_shift", Weights(Dim, 0.5), Dim, 1));
        g.Initializer.Add(Floats("w_scale", Weights(Dim, 0.5), Dim, 1));
        g.Initializer.Add(Floats("w_box", Weights(Dim * 4, 0.5), Dim, 4));
        g.Initializer.Add(Floats("token_table", Weights(Vocabulary * Dim, 1), Vocabulary, Dim));
        Constant(g, "k_shape", Longs([1, patches, features])); // the baked batch
        Constant(g, "k_box_bias", Floats("", Weights(patches * 4, 1), patches, 4));
        Constant(g, "k_eps", Floats("", [1e-6f]));
        Constant(g, "k_one", Floats("", [1f]));
        Constant(g, "k_zero_index", Longs([0], scalar: true));
        Constant(g, "k_masked", Floats("", [-1e6f]));
        Constant(g, "k_pad", Longs([0], scalar: true));
        Constant(g, "k_last_axis", Longs([-1]));
        Constant(g, "k_token_axis", Longs([1]));
        // Image: linear patch embedding, normalised class embeddings, shift, scale, boxes.
        Op(g, "Reshape", ["pixel_values", "k_shape"], "v_patches");
        Op(g, "MatMul", ["v_patches", "w_embed"], "v_features");
        Op(g, "ReduceL2", ["v_features"], "v_norm", ("axes", [-1L]), ("keepdims", [1L]));
        Op(g, "Add", ["v_norm", "k_eps"], "v_norm_eps");
        Op(g, "Div", ["v_features", "v_norm_eps"], "v_class");
        Op(g, "MatMul", ["v_features", "w_shift"], "v_shift");
        Op(g, "MatMul", ["v_features", "w_scale"], "v_scale_raw");
        Op(g, "Elu", ["v_scale_raw"], "v_scale_elu");
        Op(g, "Add", ["v_scale_elu", "k_one"], "v_scale");
        Op(g, "MatMul", ["v_features", "w_box"], "v_box_raw");
        Op(g, "Add", ["v_box_raw", "k_box_bias"], "v_box_biased");
        Op(g, "Sigmoid", ["v_box_biased"], "pred_boxes");
        // Text: mean of the token vectors under the mask, normalised.
        Op(g, "Gather", ["token_table", "input_ids"], "t_tokens");
        Op(g, "Cast", ["attention_mask"], "t_mask", ("to", [1L]));
        Op(g, "Unsqueeze", ["t_mask", "k_last_axis"], "t_mask3");
        Op(g, "Mul", ["t_tokens", "t_mask3"], "t_masked");
        Op(g, "ReduceSum", ["t_masked", "k_token_axis"], "t_sum", ("keepdims", [0L]));
        Op(g, "ReduceL2", ["t_sum"], "t_norm", ("axes", [-1L]), ("keepdims", [1L]));
        Op(g, "Add", ["t_norm", "k_eps"], "t_norm_eps");
        Op(g, "Div", ["t_sum", "t_norm_eps"], "t_query");
        Op(g, "Gather", ["input_ids", "k_zero_index"], "t_first", ("axis", [1L]));
        Op(g, "Greater", ["t_first", "k_pad"], "t_real");
        // Head: (class · query + shift) × scale, padded queries masked.
        Op(g, "Transpose", ["t_query"], "h_query_t", ("perm", [1L, 0L]));
        Op(g, "MatMul", ["v_class", "h_query_t"], "h_product");
        Op(g, "Add", ["h_product", "v_shift"], "h_shifted");
        Op(g, "Mul", ["h_shifted", "v_scale"], "h_scaled");
        Op(g, "Where", ["t_real", "h_scaled", "k_masked"], "logits");
        var model = new ModelProto { IrVersion = 8, ProducerName = "other-exporter", Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        File.WriteAllBytes(Path.Combine(directory, "onnx", "model.onnx"), model.ToByteArray());
    }

    private static ValueInfoProto Value(string name, int type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims.Select(d => d > 0 ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension { DimParam = $"{name}_{shape.Dim.Count}" }));
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type, Shape = shape } } };
    }

    private static TensorProto Floats(string name, float[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return t;
    }

    private static TensorProto Longs(long[] values, bool scalar = false)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        if (!scalar)
        {
            t.Dims.Add(values.Length);
        }
        t.Int64Data.AddRange(values);
        return t;
    }

    private static void Constant(GraphProto g, string output, TensorProto value)
    {
        var node = new NodeProto { Name = "const_" + output, OpType = "Constant" };
        node.Output.Add(output);
        node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
        g.Node.Add(node);
    }

    private static void Op(GraphProto g, string op, string[] inputs, string output, params (string Name, long[] Values)[] attributes)
    {
        var node = new NodeProto { Name = $"n{g.Node.Count}_{op}", OpType = op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        foreach (var (name, values) in attributes)
        {
            var a = name is "axes" or "perm"
                ? new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints }
                : new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = values[0] };
            if (name is "axes" or "perm")
            {
                a.Ints.AddRange(values);
            }
            node.Attribute.Add(a);
        }
        g.Node.Add(node);
    }
}

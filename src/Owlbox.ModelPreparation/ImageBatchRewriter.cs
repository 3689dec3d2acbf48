using System.Buffers.Binary;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Owlbox.Models;

namespace Owlbox.ModelPreparation;

/// <summary>The prepared image encoder's batch made dynamic: a single-graph export often bakes an image batch of 1 into
/// its reshapes (and, traced statically, into its constants); the engine runs batches.</summary>
internal static class ImageBatchRewriter
{
    /// <summary><c>pixel_values</c>' first dimension named, and what bakes the image batch made to follow it. With a
    /// dynamic export: reshape constants whose first entry is the baked batch of 1 changed to 0 (copy the input's first
    /// dimension). With the batch folded into the graph (a static trace, <c>pixel_values</c> declared [1, …]): every
    /// reshape constant of an image tensor resolved on one image and its first entry freed (-1: HF's attention views
    /// [bsz * heads, -1, head_dim] fold the batch into a first entry that is not 1), and constants of batch 1 joined to
    /// image tensors (the class token expanded to [1, 1, D] and folded) expanded to the image's batch. The check
    /// afterwards runs a batch of two against the single graph.</summary>
    public static int MakeBatchDynamic(ModelProto image)
    {
        var pixels = image.Graph.Input.Single(i => i.Name == "pixel_values").Clone();
        var dims = pixels.Type.TensorType.Shape.Dim;
        var baked = dims.Count == 4 && dims[0].DimValue == 1 && dims.Skip(1).All(d => d.DimValue > 0);
        var probeDims = dims.Select(d => d.DimValue).ToArray();
        dims[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
        var at = image.Graph.Input.IndexOf(image.Graph.Input.Single(i => i.Name == "pixel_values"));
        image.Graph.Input[at] = pixels;
        for (var o = 0; o < image.Graph.Output.Count; o++)
        {
            if (image.Graph.Output[o].Type?.TensorType?.Shape is { Dim.Count: > 0 } declared && declared.Dim[0].DimValue == 1)
            {
                var output = image.Graph.Output[o].Clone(); // an output declared with the baked batch
                output.Type.TensorType.Shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
                image.Graph.Output[o] = output;
            }
        }
        var constants = image.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var node in image.Graph.Node.Where(n => n.OpType == "Constant"))
        {
            if (node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } value)
            {
                constants[node.Output[0]] = value;
            }
        }
        var reshapes = image.Graph.Node.Where(n => n.OpType == "Reshape" && n.Input.Count == 2 && !constants.ContainsKey(n.Input[0])
            && !n.Attribute.Any(a => a.Name == "allowzero" && a.I == 1)
            && constants.TryGetValue(n.Input[1], out var shape) && shape.DataType == (int)TensorProto.Types.DataType.Int64).ToArray();
        if (baked)
        {
            return ResolveBakedBatch(image, reshapes, constants, probeDims);
        }
        var rewritten = 0;
        foreach (var reshape in reshapes)
        {
            var values = Longs(constants[reshape.Input[1]]);
            if (values.Length < 2 || values[0] != 1)
            {
                continue;
            }
            values[0] = 0;
            SetShape(image, reshape, values);
            rewritten++;
        }
        return rewritten;
    }

    private static long[] Longs(TensorProto shape) => shape.RawData.Length > 0
        ? Enumerable.Range(0, shape.RawData.Length / 8).Select(i => BinaryPrimitives.ReadInt64LittleEndian(shape.RawData.Span[(8 * i)..])).ToArray()
        : shape.Int64Data.ToArray();

    private static TensorProto LongTensor(string name, long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    private static void SetShape(ModelProto image, NodeProto reshape, long[] values)
    {
        var name = reshape.Input[1] + "_owlbox_batch";
        while (image.Graph.Initializer.Any(i => i.Name == name))
        {
            name += "_";
        }
        image.Graph.Initializer.Add(LongTensor(name, values));
        reshape.Input[1] = name;
    }

    /// <summary>The static trace's batch freed: each reshape's output shape measured on one image (its other entries kept,
    /// the first left to follow the batch), and batch-1 constants concatenated with image tensors expanded to the batch.</summary>
    private static int ResolveBakedBatch(ModelProto image, NodeProto[] reshapes, Dictionary<string, TensorProto> constants, long[] pixelDims)
    {
        var probe = image.Clone();
        foreach (var reshape in reshapes.Where(r => probe.Graph.Output.All(o => o.Name != r.Output[0])))
        {
            probe.Graph.Output.Add(new ValueInfoProto { Name = reshape.Output[0] });
        }
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        try
        {
            using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
            using var session = new InferenceSession(probe.ToByteArray(), options);
            var pixels = new float[pixelDims.Aggregate(1L, (a, b) => a * b)];
            using var input = OrtValue.CreateTensorValueFromMemory(pixels, pixelDims);
            var names = reshapes.Select(r => r.Output[0]).Distinct(StringComparer.Ordinal).ToArray();
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, ["pixel_values"], [input], names);
            for (var i = 0; i < names.Length; i++)
            {
                shapes[names[i]] = outputs[i].GetTensorTypeAndShape().Shape;
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"the image part of the graph does not run on one image in ONNX Runtime ({e.Message}); nothing was written", e);
        }
        var rewritten = 0;
        foreach (var reshape in reshapes)
        {
            var measured = shapes[reshape.Output[0]];
            if (measured.Length == 0)
            {
                continue;
            }
            SetShape(image, reshape, [-1, .. measured.Skip(1)]);
            rewritten++;
        }
        var isConstant = constants.Keys.ToHashSet(StringComparer.Ordinal);
        foreach (var concat in image.Graph.Node.Where(n => n.OpType == "Concat").ToArray())
        {
            var variable = concat.Input.FirstOrDefault(i => !isConstant.Contains(i));
            if (variable is null)
            {
                continue;
            }
            for (var i = 0; i < concat.Input.Count; i++)
            {
                if (!constants.TryGetValue(concat.Input[i], out var c) || c.Dims.Count < 2 || c.Dims[0] != 1
                    || concat.Attribute.FirstOrDefault(a => a.Name == "axis") is not { } axis || axis.I == 0 || axis.I == -c.Dims.Count)
                {
                    continue;
                }
                // Expand(constant, [batch of the image tensor beside it, its own other dimensions])
                var prefix = $"owlbox_batch_{concat.Name}_{i}";
                NodeProto Node(string op, string[] inputs, string output)
                {
                    var node = new NodeProto { Name = prefix + "_" + op, OpType = op };
                    node.Input.AddRange(inputs);
                    node.Output.Add(output);
                    return node;
                }
                image.Graph.Initializer.Add(LongTensor(prefix + "_start", [0]));
                image.Graph.Initializer.Add(LongTensor(prefix + "_end", [1]));
                image.Graph.Initializer.Add(LongTensor(prefix + "_rest", c.Dims.Skip(1).ToArray()));
                var joined = Node("Concat", [prefix + "_b", prefix + "_rest"], prefix + "_shape");
                joined.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
                var at = image.Graph.Node.IndexOf(concat);
                image.Graph.Node.Insert(at, Node("Expand", [concat.Input[i], prefix + "_shape"], prefix + "_expanded"));
                image.Graph.Node.Insert(at, joined);
                image.Graph.Node.Insert(at, Node("Slice", [prefix + "_s", prefix + "_start", prefix + "_end"], prefix + "_b"));
                image.Graph.Node.Insert(at, Node("Shape", [variable], prefix + "_s"));
                concat.Input[i] = prefix + "_expanded";
                rewritten++;
            }
        }
        return rewritten;
    }
}

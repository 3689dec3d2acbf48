using System.Buffers.Binary;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Owlbox.Detection.Inference;
using Owlbox.Models;
using Owlbox.Models.Text;

namespace Owlbox.ModelPreparation;

/// <summary>What <c>owlbox models prepare</c> wrote and how closely it matches the single graph.</summary>
public sealed record PreparedModel(string ImageEncoderPath, string TextEncoderPath, HeadRoles Roles, int HeadNodes,
    int ReshapesMadeDynamic, double MaxLogitDifference, double MaxBoxDifference)
{
    /// <summary>Pearson correlation of the int8 encoders' logits with the fp32 ones on the check's inputs (null: no
    /// int8 form written, as for a variant other than fp32).</summary>
    public double? Int8Correlation { get; init; }

    /// <summary>The fp16 encoders against the fp32 ones on the check's inputs: the largest score difference
    /// (sigmoid of the logits, what a threshold sees) and box difference in pixels of the model input (null: no fp16
    /// form written).</summary>
    public (double Score, double BoxPixels)? Fp16Check { get; init; }

    /// <summary>Attentions of the image encoder written as ONNX Runtime's fused MultiHeadAttention (0: none matched,
    /// or the fused form failed the check and the export's own was kept).</summary>
    public int FusedAttentions { get; init; }
}

/// <summary>
/// Turns a published single-graph export (<c>onnx/model.onnx</c>, image batch possibly baked at 1) into the engine's
/// fast form beside it: <c>image_encoder.onnx</c> (dynamic batch; boxes, class embeddings, shift, scale) and
/// <c>text_encoder.onnx</c> (query embeddings), the class head left to the engine. The graph is split by data flow
/// (<see cref="GraphPartition"/>) and the head's operands found by role (<see cref="HeadRoleFinder"/>), so exports
/// from other tools split too. Before anything is written, two random images run through the single graph one at a
/// time and through the prepared form as one batch of two must agree (logits within 1e-3 relative, boxes within 1e-4);
/// otherwise nothing is written and the reason is given.
/// </summary>
public static class ModelPreparer
{
    public const double LogitTolerance = 1e-3;
    public const double BoxTolerance = 1e-4;
    public const double MinimumInt8Correlation = 0.95;
    public const double MaximumFp16ScoreDifference = 0.01;
    public const double MaximumFp16BoxPixels = 1.0;

    /// <summary>OWLv2's per-patch objectness logits [B, N], as torch.onnx names the output.</summary>
    public const string ObjectnessOutput = OwlModel.ObjectnessOutput;

    /// <summary>Why a single graph cannot be split into the prepared form (null: it splits), read from its structure
    /// without its weights (<see cref="GraphSkeleton"/>): what a labeling run on the single graph says it is slower for.
    /// The numeric check of <see cref="Prepare"/> can still refuse a graph this passes.</summary>
    public static string? WhyNotPreparable(string singleGraphPath)
    {
        try
        {
            var parts = GraphPartition.Split(GraphSkeleton.Read(singleGraphPath).Graph, new HashSet<string>(["pixel_values"]), new HashSet<string>(["input_ids", "attention_mask"]));
            HeadRoleFinder.Find(parts);
            return null;
        }
        catch (Exception e) when (e is ModelException or InvalidProtocolBufferException or ArgumentException or IOException)
        {
            return e.Message;
        }
    }

    /// <param name="cancellationToken">A requested stop, seen between steps: the temporary files go, the forms already
    /// renamed into place are complete.</param>
    public static PreparedModel Prepare(string modelDirectory, string variant = "model", CancellationToken cancellationToken = default)
    {
        var model = ModelDirectory.Load(modelDirectory, variant);
        var fileName = ModelDirectory.VariantFileName(variant);
        var singlePath = Path.Combine(modelDirectory, "onnx", fileName);
        ModelProto source;
        try
        {
            source = ModelProto.Parser.ParseFrom(File.ReadAllBytes(singlePath));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelException($"{singlePath} is not an ONNX model ({e.Message})", e);
        }
        var parts = GraphPartition.Split(source.Graph, new HashSet<string>(["pixel_values"]), new HashSet<string>(["input_ids", "attention_mask"]));
        var roles = HeadRoleFinder.Find(parts);
        // OWLv2's objectness per patch, where the export outputs it, is kept beside the boxes (query-agnostic: it ranks
        // patches without a prompt).
        var objectness = parts.Image.Outputs.Contains(ObjectnessOutput) ? new[] { (ObjectnessOutput, ObjectnessOutput) } : [];
        var image = PartModels.Build(source, parts.Image, "image_encoder", null,
            [(roles.Boxes, "pred_boxes"), (roles.ClassEmbeddings, "class_embeds"), .. objectness,
             .. roles.ShiftIsConstant ? [] : new[] { (roles.Shift, "logit_shift") }, .. roles.ScaleIsConstant ? [] : new[] { (roles.Scale, "logit_scale") }]);
        BroadcastConstant(source, image, roles.ShiftIsConstant ? roles.Shift : null, "logit_shift");
        BroadcastConstant(source, image, roles.ScaleIsConstant ? roles.Scale : null, "logit_scale");
        var rewritten = MakeBatchDynamic(image);
        // The text side resolves a batch size it reads off the image to 1 (a traced export reshapes the queries by it).
        var text = PartModels.Build(source, PartModels.ResolveImageBatch(parts.Text, parts.ImageBatch), "text_encoder", null, [(roles.QueryEmbeddings, "text_embeds")]);
        foreach (var input in source.Graph.Input.Where(i => i.Name is "input_ids" or "attention_mask" && !text.Graph.Input.Any(t => t.Name == i.Name)))
        {
            text.Graph.Input.Add(input); // the engine feeds both; a graph that ignores the mask still accepts it
        }
        var suffix = fileName["model".Length..];
        var imagePath = Path.Combine(modelDirectory, "onnx", "image_encoder" + suffix);
        var textPath = Path.Combine(modelDirectory, "onnx", "text_encoder" + suffix);
        // Written beside the export under temporary names (weights stored as external data resolve from there), checked
        // from those files, then renamed: the image encoder last, as the engine takes the split form only when both exist.
        var (imageTemp, textTemp) = (imagePath + $".{Environment.ProcessId}.tmp", textPath + $".{Environment.ProcessId}.tmp");
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            Write(textTemp, text);
            // The image encoder's attention fused where the graph's shape allows (ONNX Runtime's MultiHeadAttention),
            // kept only if the check passes with it; otherwise the export's own attention.
            var fusedImage = image.Clone();
            var fusedAttentions = AttentionFuser.Apply(fusedImage);
            (double, double) checkedDiffs = default;
            if (fusedAttentions > 0)
            {
                Write(imageTemp, fusedImage);
                try
                {
                    checkedDiffs = Verify(model, singlePath, imageTemp, textTemp);
                    image = fusedImage;
                }
                catch (ModelException)
                {
                    fusedAttentions = 0;
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (fusedAttentions == 0)
            {
                Write(imageTemp, image);
                checkedDiffs = Verify(model, singlePath, imageTemp, textTemp);
            }
            var (logitDiff, boxDiff) = checkedDiffs;
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(textTemp, textPath, overwrite: true);
            File.Move(imageTemp, imagePath, overwrite: true);
            double? int8Correlation = null;
            (double Score, double BoxPixels)? fp16 = null;
            if (suffix == ".onnx")
            {
                // The int8 variant of each encoder, beside (`--model-variant quantized`); its logits must follow fp32's.
                var (qImage, qText) = (Path.Combine(modelDirectory, "onnx", "image_encoder_quantized.onnx"), Path.Combine(modelDirectory, "onnx", "text_encoder_quantized.onnx"));
                cancellationToken.ThrowIfCancellationRequested();
                Write(imageTemp, DynamicQuantizer.Apply(image.Clone()));
                Write(textTemp, DynamicQuantizer.Apply(text.Clone()));
                int8Correlation = Correlate(model, imagePath, textPath, imageTemp, textTemp);
                if (!Within(MinimumInt8Correlation, int8Correlation.Value))
                {
                    throw new ModelException($"the int8 encoders' logits follow the fp32 ones with correlation {int8Correlation:0.000} (at least {MinimumInt8Correlation} wanted): the fp32 form was written, the int8 form was not");
                }
                cancellationToken.ThrowIfCancellationRequested();
                File.Move(textTemp, qText, overwrite: true);
                File.Move(imageTemp, qImage, overwrite: true);

                // The fp16 variant (`--model-variant fp16`, for GPUs): float16 inside, float32 in and out, so the class
                // head stays fp32. Where the execution provider lacks a float16 kernel (the CPU, for most), ONNX
                // Runtime computes that node in float32 between casts; the check runs it either way.
                var (hImage, hText) = (Path.Combine(modelDirectory, "onnx", "image_encoder_fp16.onnx"), Path.Combine(modelDirectory, "onnx", "text_encoder_fp16.onnx"));
                cancellationToken.ThrowIfCancellationRequested();
                Write(imageTemp, Float16Converter.Apply(image.Clone()));
                Write(textTemp, Float16Converter.Apply(text.Clone()));
                fp16 = CompareFp16(model, imagePath, textPath, imageTemp, textTemp);
                if (!Within(fp16.Value.Score, MaximumFp16ScoreDifference) || !Within(fp16.Value.BoxPixels, MaximumFp16BoxPixels))
                {
                    throw new ModelException($"the fp16 encoders differ from fp32 (scores by {fp16.Value.Score:0.0000}, at most {MaximumFp16ScoreDifference} wanted; boxes by {fp16.Value.BoxPixels:0.00} px, at most {MaximumFp16BoxPixels} wanted): the fp32 and int8 forms were written, the fp16 form was not");
                }
                cancellationToken.ThrowIfCancellationRequested();
                File.Move(textTemp, hText, overwrite: true);
                File.Move(imageTemp, hImage, overwrite: true);
            }
            return new PreparedModel(imagePath, textPath, roles, parts.Head.Nodes.Count, rewritten, logitDiff, boxDiff)
            {
                Int8Correlation = int8Correlation,
                Fp16Check = fp16,
                FusedAttentions = fusedAttentions,
            };
        }
        finally
        {
            File.Delete(imageTemp);
            File.Delete(textTemp);
        }
    }

    /// <summary>A per-patch output [B, N, 1] holding a constant the export's head applies to every patch (the test
    /// models' shift and scale): Expand of the constant to the class embeddings' first two dimensions.</summary>
    private static void BroadcastConstant(ModelProto source, ModelProto image, string? constant, string output)
    {
        if (constant is null)
        {
            return;
        }
        var g = image.Graph;
        if (source.Graph.Initializer.FirstOrDefault(i => i.Name == constant) is { } initializer)
        {
            g.Initializer.Add(initializer);
        }
        else
        {
            g.Node.Add(source.Graph.Node.First(n => n.OpType == "Constant" && n.Output.Contains(constant)));
        }
        TensorProto Longs(string name, params long[] values)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            t.Dims.Add(values.Length);
            t.Int64Data.AddRange(values);
            return t;
        }
        var prefix = "owlbox_" + output;
        g.Initializer.Add(Longs(prefix + "_start", 0));
        g.Initializer.Add(Longs(prefix + "_end", 2));
        g.Initializer.Add(Longs(prefix + "_one", 1));
        NodeProto Node(string op, string name, string[] inputs, string result)
        {
            var node = new NodeProto { Name = prefix + "_" + name, OpType = op };
            node.Input.AddRange(inputs);
            node.Output.Add(result);
            return node;
        }
        g.Node.Add(Node("Shape", "shape", ["class_embeds"], prefix + "_shape"));
        g.Node.Add(Node("Slice", "bn", [prefix + "_shape", prefix + "_start", prefix + "_end"], prefix + "_bn"));
        var concat = Node("Concat", "bn1", [prefix + "_bn", prefix + "_one"], prefix + "_bn1");
        concat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        g.Node.Add(concat);
        g.Node.Add(Node("Expand", "expand", [constant, prefix + "_bn1"], output));
        g.Output.Add(new ValueInfoProto { Name = output });
    }

    /// <summary><c>pixel_values</c>' first dimension named, and what bakes the image batch made to follow it. With a
    /// dynamic export: reshape constants whose first entry is the baked batch of 1 changed to 0 (copy the input's first
    /// dimension). With the batch folded into the graph (a static trace, <c>pixel_values</c> declared [1, …]): every
    /// reshape constant of an image tensor resolved on one image and its first entry freed (-1: HF's attention views
    /// [bsz * heads, -1, head_dim] fold the batch into a first entry that is not 1), and constants of batch 1 joined to
    /// image tensors (the class token expanded to [1, 1, D] and folded) expanded to the image's batch. The check
    /// afterwards runs a batch of two against the single graph.</summary>
    private static int MakeBatchDynamic(ModelProto image)
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

    private static (double Logits, double Boxes) Verify(OwlModel model, string singlePath, string imageModel, string textModel)
    {
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
        InferenceSession Open(Func<InferenceSession> open, string what)
        {
            try
            {
                return open();
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelException($"the prepared {what} does not load in ONNX Runtime ({e.Message}); nothing was written", e);
            }
        }
        using var single = Open(() => new InferenceSession(singlePath, options), "single graph");
        using var image = Open(() => new InferenceSession(imageModel, options), "image encoder");
        using var text = Open(() => new InferenceSession(textModel, options), "text encoder");
        var s = model.ImageSize;
        var (pixels, tokens) = CheckInputs(model, images: 2);
        using var idv = OrtValue.CreateTensorValueFromMemory(tokens.InputIds, [tokens.Count, tokens.Length]);
        using var mv = OrtValue.CreateTensorValueFromMemory(tokens.AttentionMask, [tokens.Count, tokens.Length]);
        using var both = OrtValue.CreateTensorValueFromMemory(pixels, [2, 3, s, s]);
        using var encoded2 = Run(image, ["pixel_values"], [both], ["pred_boxes", "class_embeds", "logit_shift", "logit_scale"], "image encoder");
        using var queryOut = Run(text, ["input_ids", "attention_mask"], [idv, mv], ["text_embeds"], "text encoder");
        var boxes = encoded2[0].GetTensorDataAsSpan<float>().ToArray();
        var features = new ImageFeatures(encoded2[1].GetTensorDataAsSpan<float>().ToArray(), encoded2[2].GetTensorDataAsSpan<float>().ToArray(),
            encoded2[3].GetTensorDataAsSpan<float>().ToArray(), 0);
        features = features with { Dimension = features.ClassEmbeddings.Length / features.Shift.Length };
        var queryEmbeddings = queryOut[0].GetTensorDataAsSpan<float>().ToArray();
        var patches = features.Shift.Length / 2;
        var logits = new float[2 * patches * tokens.Count];
        ClassHead.Logits(features, queryEmbeddings, tokens.Count, new bool[tokens.Count], logits);
        var (logitDiff, boxDiff) = (0.0, 0.0);
        for (var b = 0; b < 2; b++)
        {
            using var one = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixels.AsMemory(b * 3 * s * s, 3 * s * s), [1, 3, s, s]);
            using var expected = Run(single, ["pixel_values", "input_ids", "attention_mask"], [one, idv, mv], ["logits", "pred_boxes"], "single graph");
            var want = expected[0].GetTensorDataAsSpan<float>();
            var wantBoxes = expected[1].GetTensorDataAsSpan<float>();
            if (want.Length != patches * tokens.Count || wantBoxes.Length != patches * 4)
            {
                throw new ModelException($"the prepared form gives {patches} patches per image, the single graph {want.Length / tokens.Count}; nothing was written");
            }
            for (var i = 0; i < want.Length; i++)
            {
                logitDiff = Math.Max(logitDiff, Math.Abs(want[i] - logits[b * want.Length + i]) / (1 + Math.Abs(want[i])));
            }
            for (var i = 0; i < wantBoxes.Length; i++)
            {
                boxDiff = Math.Max(boxDiff, Math.Abs(wantBoxes[i] - boxes[b * wantBoxes.Length + i]));
            }
        }
        if (!Within(logitDiff, LogitTolerance) || !Within(boxDiff, BoxTolerance))
        {
            throw new ModelException($"the prepared form differs from {Path.GetFileName(singlePath)} on random inputs (logits by {logitDiff:G3} relative, tolerance {LogitTolerance}; boxes by {boxDiff:G3}, tolerance {BoxTolerance}): the batch could not be made dynamic or the head was not recognised; nothing was written");
        }
        return (logitDiff, boxDiff);
    }

    /// <summary>Whether a measured <paramref name="value"/> is at most <paramref name="limit"/>: false for NaN, which a
    /// prepared form that computes NaN (a norm of zero) gives, and which every "greater than" comparison lets through.</summary>
    public static bool Within(double value, double limit) => value <= limit;

    /// <summary>Logits of the fp32 and int8 encoder pairs on the check's random image and queries, correlated.</summary>
    private static double Correlate(OwlModel model, string image, string text, string int8Image, string int8Text) =>
        Correlation(Outputs(model, image, text).Logits, Outputs(model, int8Image, int8Text).Logits);

    /// <summary>The fp16 pair against the fp32 pair: largest score and box (model-input pixels) differences.</summary>
    private static (double Score, double BoxPixels) CompareFp16(OwlModel model, string image, string text, string fp16Image, string fp16Text)
    {
        var (fp32, fp16) = (Outputs(model, image, text), Outputs(model, fp16Image, fp16Text));
        var (score, boxPixels) = (0.0, 0.0);
        for (var i = 0; i < fp32.Logits.Length; i++)
        {
            score = Math.Max(score, Math.Abs(1 / (1 + Math.Exp(-fp32.Logits[i])) - 1 / (1 + Math.Exp(-fp16.Logits[i]))));
        }
        for (var i = 0; i < fp32.Boxes.Length; i++)
        {
            boxPixels = Math.Max(boxPixels, Math.Abs(fp32.Boxes[i] - fp16.Boxes[i]) * model.ImageSize);
        }
        return (score, boxPixels);
    }

    private static double Correlation(float[] fp32, float[] int8)
    {
        var (ma, mb) = (fp32.Average(), int8.Average());
        double sab = 0, saa = 0, sbb = 0;
        for (var i = 0; i < fp32.Length; i++)
        {
            (sab, saa, sbb) = (sab + (fp32[i] - ma) * (int8[i] - mb), saa + (fp32[i] - ma) * (fp32[i] - ma), sbb + (int8[i] - mb) * (int8[i] - mb));
        }
        return saa == 0 || sbb == 0 ? (fp32.SequenceEqual(int8) ? 1 : 0) : sab / Math.Sqrt(saa * sbb);
    }

    private static (float[] Logits, float[] Boxes) Outputs(OwlModel model, string imagePath, string textPath)
    {
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
        using var image = new InferenceSession(imagePath, options);
        using var text = new InferenceSession(textPath, options);
        var s = model.ImageSize;
        var (pixels, tokens) = CheckInputs(model, images: 1);
        using var pv = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, s, s]);
        using var idv = OrtValue.CreateTensorValueFromMemory(tokens.InputIds, [tokens.Count, tokens.Length]);
        using var mv = OrtValue.CreateTensorValueFromMemory(tokens.AttentionMask, [tokens.Count, tokens.Length]);
        using var encoded1 = Run(image, ["pixel_values"], [pv], ["class_embeds", "logit_shift", "logit_scale", "pred_boxes"], "variant check");
        using var queryOut = Run(text, ["input_ids", "attention_mask"], [idv, mv], ["text_embeds"], "variant check");
        var features = new ImageFeatures(encoded1[0].GetTensorDataAsSpan<float>().ToArray(), encoded1[1].GetTensorDataAsSpan<float>().ToArray(),
            encoded1[2].GetTensorDataAsSpan<float>().ToArray(), 0);
        features = features with { Dimension = features.ClassEmbeddings.Length / features.Shift.Length };
        var logits = new float[features.Shift.Length * tokens.Count];
        ClassHead.Logits(features, queryOut[0].GetTensorDataAsSpan<float>().ToArray(), tokens.Count, new bool[tokens.Count], logits);
        return (logits, encoded1[3].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>The checks' inputs: random pixels for <paramref name="images"/> images (the same first image each time)
    /// and three queries, tokenized as the engine tokenizes them.</summary>
    private static (float[] Pixels, QueryTokens Tokens) CheckInputs(OwlModel model, int images)
    {
        var random = new Random(7);
        var pixels = Enumerable.Range(0, images * 3 * model.ImageSize * model.ImageSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var tokenizer = ClipTokenizer.FromTokenizerJson(model.TokenizerPath);
        return (pixels, QueryTokens.Create(tokenizer, ["a photo of a cat", "red square", "yellow"], model.MaxTextTokens));
    }

    private static IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, string[] names, OrtValue[] values, string[] outputs, string what)
    {
        try
        {
            using var runOptions = new RunOptions();
            return session.Run(runOptions, names, values, outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"the {what} failed on the check's random inputs ({e.Message}); nothing was written", e);
        }
    }

    private static void Write(string path, ModelProto model)
    {
        using var stream = File.Create(path);
        model.WriteTo(stream);
    }
}

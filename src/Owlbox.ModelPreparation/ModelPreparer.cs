using Google.Protobuf;
using Onnx;
using Owlbox.Models;

namespace Owlbox.ModelPreparation;

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
            FindHead(GraphSkeleton.Read(singleGraphPath).Graph);
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
        var source = ReadSingleGraph(singlePath);
        var (parts, roles) = FindHead(source.Graph);
        var (image, reshapesMadeDynamic) = EncoderGraphs.Image(source, parts, roles);
        var text = EncoderGraphs.Text(source, parts, roles);
        var suffix = fileName["model".Length..];
        var fp32 = EncoderFiles.In(modelDirectory, suffix);
        var temp = fp32.Temporary();
        try
        {
            var (checkedImage, fusedAttentions, (logitDiff, boxDiff)) = WriteFp32(model, singlePath, image, text, temp, fp32, cancellationToken);
            double? int8Correlation = null;
            (double Score, double BoxPixels)? fp16 = null;
            if (suffix == ".onnx")
            {
                int8Correlation = WriteInt8(model, checkedImage, text, fp32, temp, EncoderFiles.In(modelDirectory, "_quantized.onnx"), cancellationToken);
                fp16 = WriteFp16(model, checkedImage, text, fp32, temp, EncoderFiles.In(modelDirectory, "_fp16.onnx"), cancellationToken);
            }
            return new PreparedModel(fp32.Image, fp32.Text, roles, parts.Head.Nodes.Count, reshapesMadeDynamic, logitDiff, boxDiff)
            {
                Int8Correlation = int8Correlation,
                Fp16Check = fp16,
                FusedAttentions = fusedAttentions,
            };
        }
        finally
        {
            temp.Delete();
        }
    }

    /// <summary>Whether a measured <paramref name="value"/> is at most <paramref name="limit"/>: false for NaN, which a
    /// prepared form that computes NaN (a norm of zero) gives, and which every "greater than" comparison lets through.</summary>
    public static bool Within(double value, double limit) => value <= limit;

    private static ModelProto ReadSingleGraph(string path)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelException($"{path} is not an ONNX model ({e.Message})", e);
        }
    }

    /// <summary>The graph split by data flow into image, text and head parts, and the head's operands found by role.</summary>
    private static (Partition Parts, HeadRoles Roles) FindHead(GraphProto graph)
    {
        var parts = GraphPartition.Split(graph, new HashSet<string>(["pixel_values"]), new HashSet<string>(["input_ids", "attention_mask"]));
        return (parts, HeadRoleFinder.Find(parts));
    }

    /// <summary>The fp32 encoders written, checked against the single graph and put in place. The image encoder's
    /// attention is fused where the graph's shape allows (ONNX Runtime's MultiHeadAttention), kept only if the check
    /// passes with it; otherwise the export's own attention.</summary>
    /// <returns>The image encoder as written (fused or not), how many attentions were fused, the check's differences.</returns>
    private static (ModelProto Image, int FusedAttentions, (double Logits, double Boxes) Differences) WriteFp32(
        OwlModel model, string singlePath, ModelProto image, ModelProto text, EncoderFiles temp, EncoderFiles target, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(temp.Text, text);
        var fusedImage = image.Clone();
        var fusedAttentions = AttentionFuser.Apply(fusedImage);
        (double, double) differences = default;
        if (fusedAttentions > 0)
        {
            Write(temp.Image, fusedImage);
            try
            {
                differences = PreparedFormCheck.Verify(model, singlePath, temp.Image, temp.Text);
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
            Write(temp.Image, image);
            differences = PreparedFormCheck.Verify(model, singlePath, temp.Image, temp.Text);
        }
        temp.MoveTo(target, cancellationToken);
        return (image, fusedAttentions, differences);
    }

    /// <summary>The int8 variant of each encoder (<c>--model-variant quantized</c>), put in place when its logits follow fp32's.</summary>
    private static double WriteInt8(OwlModel model, ModelProto image, ModelProto text, EncoderFiles fp32, EncoderFiles temp, EncoderFiles target, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(temp.Image, DynamicQuantizer.Apply(image.Clone()));
        Write(temp.Text, DynamicQuantizer.Apply(text.Clone()));
        var correlation = PreparedFormCheck.Correlate(model, fp32.Image, fp32.Text, temp.Image, temp.Text);
        if (!Within(MinimumInt8Correlation, correlation))
        {
            throw new ModelException($"the int8 encoders' logits follow the fp32 ones with correlation {correlation:0.000} (at least {MinimumInt8Correlation} wanted): the fp32 form was written, the int8 form was not");
        }
        temp.MoveTo(target, cancellationToken);
        return correlation;
    }

    /// <summary>The fp16 variant (<c>--model-variant fp16</c>, for GPUs): float16 inside, float32 in and out, so the class
    /// head stays fp32. Where the execution provider lacks a float16 kernel (the CPU, for most), ONNX Runtime computes
    /// that node in float32 between casts; the check runs it either way.</summary>
    private static (double Score, double BoxPixels) WriteFp16(OwlModel model, ModelProto image, ModelProto text, EncoderFiles fp32, EncoderFiles temp, EncoderFiles target, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(temp.Image, Float16Converter.Apply(image.Clone()));
        Write(temp.Text, Float16Converter.Apply(text.Clone()));
        var fp16 = PreparedFormCheck.CompareFp16(model, fp32.Image, fp32.Text, temp.Image, temp.Text);
        if (!Within(fp16.Score, MaximumFp16ScoreDifference) || !Within(fp16.BoxPixels, MaximumFp16BoxPixels))
        {
            throw new ModelException($"the fp16 encoders differ from fp32 (scores by {fp16.Score:0.0000}, at most {MaximumFp16ScoreDifference} wanted; boxes by {fp16.BoxPixels:0.00} px, at most {MaximumFp16BoxPixels} wanted): the fp32 and int8 forms were written, the fp16 form was not");
        }
        temp.MoveTo(target, cancellationToken);
        return fp16;
    }

    private static void Write(string path, ModelProto model)
    {
        using var stream = File.Create(path);
        model.WriteTo(stream);
    }

    /// <summary>An encoder pair's files. Each form is written beside the export under temporary names (weights stored as
    /// external data resolve from there), checked from those files, then renamed into place: the image encoder last,
    /// as the engine takes the split form only when both exist.</summary>
    private sealed record EncoderFiles(string Image, string Text)
    {
        public static EncoderFiles In(string modelDirectory, string suffix) =>
            new(Path.Combine(modelDirectory, "onnx", "image_encoder" + suffix), Path.Combine(modelDirectory, "onnx", "text_encoder" + suffix));

        public EncoderFiles Temporary() => new(Image + $".{Environment.ProcessId}.tmp", Text + $".{Environment.ProcessId}.tmp");

        public void MoveTo(EncoderFiles target, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(Text, target.Text, overwrite: true);
            File.Move(Image, target.Image, overwrite: true);
        }

        public void Delete()
        {
            File.Delete(Image);
            File.Delete(Text);
        }
    }
}

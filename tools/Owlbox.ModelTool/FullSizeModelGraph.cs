using DataType = Onnx.TensorProto.Types.DataType;

namespace Owlbox.ModelTool;

/// <summary>Layer sizes of a published checkpoint (HF config.json), for random-weight models of the real cost.</summary>
public sealed record OwlArchitecture(
    string Name, string ModelType, int ImageSize, int PatchSize,
    int VisionHidden, int VisionLayers, int VisionHeads, int VisionMlp,
    int TextHidden, int TextLayers, int TextHeads, int TextMlp, int Projection, int VocabSize = 49408, int MaxTextTokens = 16,
    float LogitShift = -0.15f)
{
    public static readonly OwlArchitecture OwlVitB32 = new("owlvit-base-patch32", "owlvit", 768, 32, 768, 12, 12, 3072, 512, 12, 8, 2048, 512);

    // The random B/16 tower's patch/query similarities sit higher (median ≈ 0.07 against ≈ 0 for B/32), so its head
    // needs a lower shift for the same thin tail of boxes over 0.1.
    public static readonly OwlArchitecture Owlv2B16 = new("owlv2-base-patch16", "owlv2", 960, 16, 768, 12, 12, 3072, 512, 12, 8, 2048, 512, LogitShift: -0.205f);

    /// <summary>The same architecture shrunk (2 layers, small widths) for tests that compare graph forms.</summary>
    public static OwlArchitecture Tiny(string modelType) =>
        new($"{modelType}-tiny", modelType, modelType == "owlv2" ? 120 : 96, modelType == "owlv2" ? 20 : 16, 64, 2, 2, 128, 32, 2, 2, 64, 32, VocabSize: 1024);

    public int Grid => ImageSize / PatchSize;

    /// <summary>Multiply-adds of the image tower and heads for one image (the text tower runs once per query).</summary>
    public double VisionGigaMacs
    {
        get
        {
            double s = Grid * Grid + 1, d = VisionHidden;
            var patch = (double)Grid * Grid * 3 * PatchSize * PatchSize * d;
            var layer = s * (4 * d * d + 2 * d * VisionMlp) + 2 * s * s * d;
            var heads = Grid * Grid * (2 * d * d + d * 4 + d * Projection + 2 * d);
            return (patch + VisionLayers * layer + heads) / 1e9;
        }
    }
}

/// <summary>
/// OWL-ViT / OWLv2 with the published export's contract and the real architecture (ViT image tower with class token
/// and pre/post layer norms, causal CLIP text tower pooled at EOS, box and class heads), filled with seeded random
/// weights: it costs what the real model costs, so it measures speed, not accuracy. Objectness is not exported,
/// as in the published OWLv2 files.
/// </summary>
public static class FullSizeModelGraph
{
    /// <summary>Which graph to emit. The split forms carry the same weights (same seed) as the full graph.</summary>
    public enum Part
    {
        /// <summary>The published single graph: both towers, one image per run, text re-encoded every run.</summary>
        Full,

        /// <summary><c>image_encoder.onnx</c>: pixel_values with a dynamic batch → pred_boxes, class_embeds
        /// (L2-normalised), logit_shift, logit_scale: everything the class head needs, per image.</summary>
        Image,

        /// <summary><c>text_encoder.onnx</c>: input_ids, attention_mask → text_embeds (L2-normalised), run once per job.</summary>
        Text,
    }

    /// <param name="fusedAttention">Write the image tower's attention as ONNX Runtime's fused MultiHeadAttention
    /// (what its transformer optimizer does to ViT exports): same weights, same function, one kernel per layer.</param>
    public static OnnxGraph Build(OwlArchitecture a, int seed = 1234, Part part = Part.Full, bool fusedAttention = false)
    {
        var random = new Random(seed);
        var g = new OnnxGraph("owl_" + a.ModelType);
        var pixels = g.Input("pixel_values", DataType.Float, "batch_size", 3, "height", "width");
        var ids = g.Input("input_ids", DataType.Int64, "text_batch_size", "sequence_length");
        var mask = g.Input("attention_mask", DataType.Int64, "text_batch_size", "sequence_length");
        string W(string name, params long[] dims) => WithStd(name, 0.02f, dims);
        string WithStd(string name, float std, params long[] dims) => g.Floats(name, Normal(random, dims.Aggregate(1L, (x, y) => x * y), std), dims);
        string Zeros(string name, params long[] dims) => g.Floats(name, new float[dims.Aggregate(1L, (x, y) => x * y)], dims);
        string Ones(string name, long n) => g.Floats(name, Enumerable.Repeat(1f, (int)n).ToArray(), n);
        string Linear(string x, int inDim, int outDim, bool bias = true)
        {
            var y = g.Node("MatMul", [x, W("w", inDim, outDim)]);
            return bias ? g.Node("Add", [y, Zeros("b", outDim)]) : y;
        }
        string LayerNorm(string x, int dim) =>
            g.Node("LayerNormalization", [x, Ones("ln_g", dim), Zeros("ln_b", dim)], [Attr.Int("axis", -1), Attr.Float("epsilon", 1e-5f)]);
        string QuickGelu(string x) => g.Node("Mul", [x, g.Node("Sigmoid", [g.Node("Mul", [x, g.Scalar(1.702f)])])]);
        string Gelu(string x) =>
            g.Node("Mul", [g.Node("Mul", [x, g.Scalar(0.5f)]), g.Node("Add", [g.Node("Erf", [g.Node("Mul", [x, g.Scalar(0.70710678f)])]), g.Scalar(1f)])]);

        string Encoder(string x, int layers, int hidden, int heads, int mlp, string? additiveMask, bool fused = false)
        {
            var headDim = hidden / heads;
            var split = g.Int64s("split_shape", 0, 0, heads, headDim);
            var merge = g.Int64s("merge_shape", 0, 0, hidden);
            for (var l = 0; l < layers; l++)
            {
                var h = LayerNorm(x, hidden);
                if (fused)
                {
                    // Same weights drawn in the same order as the unfused form; MultiHeadAttention scales by 1/sqrt(head).
                    var (fq, fk, fv) = (Linear(h, hidden, hidden), Linear(h, hidden, hidden), Linear(h, hidden, hidden));
                    var fusedOut = g.ContribNode("MultiHeadAttention", [fq, fk, fv], [Attr.Int("num_heads", heads)]);
                    x = g.Node("Add", [x, Linear(fusedOut, hidden, hidden)]);
                    x = g.Node("Add", [x, Linear(QuickGelu(Linear(LayerNorm(x, hidden), hidden, mlp)), mlp, hidden)]);
                    continue;
                }
                string Heads(string t) => g.Node("Transpose", [g.Node("Reshape", [t, split])], [Attr.Ints("perm", [0, 2, 1, 3])]);
                var q = Heads(g.Node("Mul", [Linear(h, hidden, hidden), g.Scalar(1f / MathF.Sqrt(headDim))]));
                var k = g.Node("Transpose", [g.Node("Reshape", [Linear(h, hidden, hidden), split])], [Attr.Ints("perm", [0, 2, 3, 1])]);
                var v = Heads(Linear(h, hidden, hidden));
                var scores = g.Node("MatMul", [q, k]);
                if (additiveMask is not null)
                {
                    scores = g.Node("Add", [scores, additiveMask]);
                }
                var attended = g.Node("MatMul", [g.Node("Softmax", [scores], [Attr.Int("axis", -1)]), v]);
                var merged = g.Node("Reshape", [g.Node("Transpose", [attended], [Attr.Ints("perm", [0, 2, 1, 3])]), merge]);
                x = g.Node("Add", [x, Linear(merged, hidden, hidden)]);
                var m = Linear(QuickGelu(Linear(LayerNorm(x, hidden), hidden, mlp)), mlp, hidden);
                x = g.Node("Add", [x, m]);
            }
            return x;
        }

        // ---- image tower ----
        var n = a.Grid * a.Grid;
        var d = a.VisionHidden;
        var patches = g.Node("Conv", [pixels, W("patch_w", d, 3, a.PatchSize, a.PatchSize)], [Attr.Ints("strides", [a.PatchSize, a.PatchSize])]);
        patches = g.Node("Transpose", [g.Node("Reshape", [patches, g.Int64s("s", 0, d, -1)])], [Attr.Ints("perm", [0, 2, 1])]);
        var batch = g.Node("Slice", [g.Node("Shape", [pixels]), g.Int64s("s", 0), g.Int64s("e", 1)]);
        var cls = g.Node("Expand", [W("cls", 1, 1, d), g.Node("Concat", [batch, g.Int64s("c", 1, d)], [Attr.Int("axis", 0)])]);
        var tokens = g.Node("Add", [g.Node("Concat", [cls, patches], [Attr.Int("axis", 1)]), W("vpos", 1, n + 1, d)]);
        tokens = LayerNorm(Encoder(LayerNorm(tokens, d), a.VisionLayers, d, a.VisionHeads, a.VisionMlp, null, fusedAttention), d);
        var classToken = g.Node("Slice", [tokens, g.Int64s("s", 0), g.Int64s("e", 1), g.Int64s("a", 1)]);
        var patchTokens = g.Node("Slice", [tokens, g.Int64s("s", 1), g.Int64s("e", n + 1), g.Int64s("a", 1)]);
        var feat = LayerNorm(g.Node("Mul", [patchTokens, classToken]), d); // [B, N, D]
        var imageEmbeds = g.Node("Reshape", [feat, g.Int64s("s", 0, a.Grid, a.Grid, d)]);

        var boxBias = new float[n * 4];
        for (var i = 0; i < a.Grid; i++)
        {
            for (var j = 0; j < a.Grid; j++)
            {
                static float Logit(double c) => (float)(Math.Log(c + 1e-4) - Math.Log(1 - c + 1e-4));
                var p = (i * a.Grid + j) * 4;
                (boxBias[p], boxBias[p + 1]) = (Logit((j + 1.0) / a.Grid), Logit((i + 1.0) / a.Grid));
                (boxBias[p + 2], boxBias[p + 3]) = (Logit(1.0 / a.Grid), Logit(1.0 / a.Grid));
            }
        }
        var boxes = g.Node("Sigmoid", [g.Node("Add", [Linear(Gelu(Linear(Gelu(Linear(feat, d, d)), d, d)), d, 4), g.Floats("box_bias", boxBias, n, 4)])]);
        var classEmbeds = Linear(feat, d, a.Projection);
        var classNorm = g.Node("Div", [classEmbeds, g.Node("Add", [g.Node("ReduceL2", [classEmbeds], [Attr.Ints("axes", [-1]), Attr.Int("keepdims", 1)]), g.Scalar(1e-6f)])]);
        // Class-head calibration like a trained OWL model's: logits far below zero (scale ≈ 30, shift ≈ -0.15 for B/32) with a thin
        // tail where a query's embedding happens to align with a patch, so tens of (patch, query) pairs per image pass
        // a 0.1 threshold. With plain random heads every pair scores ≈ 0.5, and a benchmark would measure writing
        // thousands of boxes per image, which no real model emits. (Patch features of a random tower are nearly
        // identical, so the tail has to come from the similarity term, not the per-patch shift.)
        var shift = g.Node("Add", [g.Node("MatMul", [feat, WithStd("shift_w", 0.0002f, d, 1)]), g.Scalar(a.LogitShift)]);
        var scale = g.Node("Add", [g.Node("Elu", [g.Node("Add", [g.Node("MatMul", [feat, WithStd("scale_w", 0.0002f, d, 1)]), g.Scalar(29f)])]), g.Scalar(1f)]);

        // ---- text tower ----
        var t = a.TextHidden;
        var seq = g.Node("Slice", [g.Node("Shape", [ids]), g.Int64s("s", 1), g.Int64s("e", 2)]);
        var text = g.Node("Gather", [W("tok", a.VocabSize, t), ids]);
        text = g.Node("Add", [text, g.Node("Slice", [W("tpos", a.MaxTextTokens, t), g.Int64s("s", 0), seq, g.Int64s("a", 0)])]);
        var causal = new float[a.MaxTextTokens * a.MaxTextTokens];
        for (var i = 0; i < a.MaxTextTokens; i++)
        {
            for (var j = i + 1; j < a.MaxTextTokens; j++)
            {
                causal[i * a.MaxTextTokens + j] = -1e9f;
            }
        }
        var causalLl = g.Node("Slice", [g.Floats("causal", causal, a.MaxTextTokens, a.MaxTextTokens), g.Int64s("s", 0, 0), g.Node("Concat", [seq, seq], [Attr.Int("axis", 0)]), g.Int64s("a", 0, 1)]);
        var padding = g.Node("Mul", [g.Node("Sub", [g.Scalar(1f), g.Node("Cast", [mask], [Attr.Int("to", (long)DataType.Float)])]), g.Scalar(-1e9f)]);
        var additive = g.Node("Add", [causalLl, g.Node("Unsqueeze", [padding, g.Int64s("axes", 1, 2)])]); // [T,1,L,L]
        text = LayerNorm(Encoder(text, a.TextLayers, t, a.TextHeads, a.TextMlp, additive), t);
        var eos = g.Node("ArgMax", [ids], [Attr.Int("axis", 1), Attr.Int("keepdims", 1)]); // CLIP pools at the EOS (highest id)
        var pooled = g.Node("GatherND", [text, eos], [Attr.Int("batch_dims", 1)]);
        var projected = Linear(pooled, t, a.Projection, bias: false);
        var queries = g.Node("Div", [projected, g.Node("Add", [g.Node("ReduceL2", [projected], [Attr.Ints("axes", [-1]), Attr.Int("keepdims", 1)]), g.Scalar(1e-6f)])]);
        var textEmbeds = g.Node("Reshape", [queries, g.Node("Concat", [batch, g.Int64s("m1", -1), g.Int64s("p", a.Projection)], [Attr.Int("axis", 0)])]);

        if (part == Part.Image)
        {
            g.Output(boxes, "pred_boxes", DataType.Float, "batch_size", n, 4);
            g.Output(classNorm, "class_embeds", DataType.Float, "batch_size", n, a.Projection);
            g.Output(shift, "logit_shift", DataType.Float, "batch_size", n, 1);
            g.Output(scale, "logit_scale", DataType.Float, "batch_size", n, 1);
            return g.Pruned();
        }
        if (part == Part.Text)
        {
            g.Output(queries, "text_embeds", DataType.Float, "text_batch_size", a.Projection);
            return g.Pruned();
        }

        // ---- scoring ----
        var similarity = g.Node("MatMul", [classNorm, g.Node("Transpose", [textEmbeds], [Attr.Ints("perm", [0, 2, 1])])]);
        var logits = g.Node("Mul", [g.Node("Add", [similarity, shift]), scale]);
        var firstIds = g.Node("Slice", [ids, g.Int64s("s", 0), g.Int64s("e", 1), g.Int64s("a", 1)]);
        var valid = g.Node("Reshape", [g.Node("Greater", [firstIds, g.Initializer(Tensors.Int64s(g.Unique("zero"), [0]))]),
            g.Node("Concat", [batch, g.Int64s("one", 1), g.Int64s("m1", -1)], [Attr.Int("axis", 0)])]);
        logits = g.Node("Where", [valid, logits, g.Scalar(float.MinValue)]);

        g.Output(logits, "logits", DataType.Float, "image_batch_size", "num_boxes", "num_queries");
        g.Output(boxes, "pred_boxes", DataType.Float, "image_batch_size", "num_boxes", 4);
        g.Output(textEmbeds, "text_embeds", DataType.Float, "image_batch_size", "num_queries", a.Projection);
        g.Output(imageEmbeds, "image_embeds", DataType.Float, "image_batch_size", a.Grid, a.Grid, d);
        return g;
    }

    private static float[] Normal(Random random, long count, float std)
    {
        var values = new float[count];
        for (long i = 0; i < count; i += 2)
        {
            // Box-Muller: two normal samples per pair of uniforms.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var r = Math.Sqrt(-2 * Math.Log(u1)) * std;
            values[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count)
            {
                values[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
            }
        }
        return values;
    }
}

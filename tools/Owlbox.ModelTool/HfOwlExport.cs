using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Owlbox.ModelTool;

/// <summary>How a generated export is traced: the forms real exports of Hugging Face's OWL models take.</summary>
public sealed record HfExportOptions
{
    /// <summary><c>owlvit</c> (OwlViTForObjectDetection) or <c>owlv2</c> (Owlv2ForObjectDetection: objectness head).</summary>
    public string ModelType { get; init; } = "owlvit";

    /// <summary>Dynamic axes on the pixel batch (optimum's export): the batch is read with Shape → Gather and feeds the
    /// text side's reshape through a Div. False: the batch of 1 folded into constants (a static trace).</summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>Norms as Pow → ReduceSum → Sqrt (a decomposing exporter) instead of ReduceL2.</summary>
    public bool PowSumSqrtNorm { get; init; }

    /// <summary>Internal tensors named after the engine's outputs (<c>class_embeds</c> for the class head's dense0,
    /// the reshaped queries <c>text_embeds</c> as the graph output read again by the head), as exporters that name
    /// tensors by variable write them.</summary>
    public bool CollidingNames { get; init; } = true;

    /// <summary>OWLv2 only: <c>objectness_logits</c> among the outputs (torch.onnx with every output named; optimum
    /// keeps only logits, pred_boxes, text_embeds and image_embeds).</summary>
    public bool ObjectnessOutput { get; init; } = true;

    /// <summary>Real layer sizes (B/32 at 768 for OWL-ViT, B/16 at 960 for OWLv2) for benchmarks; otherwise one layer
    /// per tower and small widths, at the real input size and a 24×24 grid.</summary>
    public bool FullSize { get; init; }

    /// <summary>A graph that cannot be prepared, for the refusal path: the text side's queries scaled by a statistic of
    /// the pixels (times zero, plus one: the same numbers), so the queries depend on the image beyond its batch.</summary>
    public bool TextReadsImage { get; init; }

    public string Describe() =>
        $"{ModelType} {(DynamicBatch ? "dynamic" : "static")} batch, {(PowSumSqrtNorm ? "Pow-ReduceSum-Sqrt" : "ReduceL2")} norms{(FullSize ? ", full size" : "")}";
}

/// <summary>
/// A graph written the way torch.onnx (and optimum, which calls it) traces Hugging Face's
/// <c>OwlViTForObjectDetection.forward</c> / <c>Owlv2ForObjectDetection.forward</c>, op by op, with optimum's names
/// (<c>/owlvit/…</c>, <c>/class_head/…</c>, <c>/box_head/…</c>, <c>/objectness_head/…</c>). Line references are to
/// transformers' <c>models/owlvit/modeling_owlvit.py</c> (OWLv2's file copies every part quoted here, and adds the
/// objectness head).
/// <para>Its weights genuinely detect, as the model tool's colour test models do: the ViT's patch embedding averages
/// each cell's colour, and where the real tower's layers would be, a colour stand-in (the model tool's construction:
/// softmax over colour prototypes, runs of same-colour cells for the box) writes each patch's colour class and box
/// into the residual stream; the real encoder layers follow at full width with output projections of zero (they
/// cost what the real ones cost and change nothing), so the layer norms, the class-token product, the heads and the
/// text tower after them are HF's own arithmetic on chosen weights. Layer norms pass features through because every
/// row carries each feature beside its negation (mean zero) and a slack feature that gives all rows the same norm (the
/// same scale, undone by the norm's gain); the patch embedding, computed before any slack can be, carries a ±C pair
/// that dominates its variance instead.</para>
/// </summary>
public static class HfOwlExport
{
    private const float EmbeddingC = 100f;
    // Squared norm every patch's residual row and every token row is given (features plus a slack feature), so the
    // layer norms scale all rows alike; box features are stored as z / 8, so every activation stays within a few units
    // and the int8 form (one scale per activation tensor) keeps them. The patch budget of 2 holds a colour and the box
    // of all but the largest objects near the grid's far edges (whose rows then scale a little, their boxes a little
    // small); a larger budget means larger slack values, whose float16 rounding moves the fp16 form's boxes past the
    // pixel its check allows.
    private const float PatchNorm = 2f;
    private const float TokenNorm = 2f;
    private const float BoxFeatureScale = 8f;
    private const float Background = 0.02f;
    // Colder than the colour test model's 0.02: cells of one colour get exactly the same one-hot (the others underflow
    // to 0), so they score exactly alike however a runtime orders the class head's sums, and the box a tie between them
    // picks does not depend on which form of the model scored them.
    private const float Temperature = 0.002f;

    // Box centres nudged by 2^-12 of the input: a block of cells drawn on an image whose side is not a multiple of the
    // grid has edges on exact half pixels, where float noise (which differs in the last bits
    // between graph optimisations of a static and a dynamic batch) would decide the rounding; a fifth of a pixel off
    // the half, it does not.
    private const float CentreNudge = 1f / 4096;
    private const float FinfoMin = float.MinValue;

    private sealed record Sizes(int ImageSize, int Patch, int Vision, int VisionLayers, int VisionHeads, int VisionMlp, int Text, int TextLayers, int TextHeads, int TextMlp)
    {
        public int Grid => ImageSize / Patch;
    }

    private static Sizes SizesOf(HfExportOptions o) => (o.ModelType, o.FullSize) switch
    {
        ("owlv2", true) => new(960, 16, 768, 12, 12, 3072, 512, 12, 8, 2048),
        (_, true) => new(768, 32, 768, 12, 12, 3072, 512, 12, 8, 2048),
        ("owlv2", false) => new(960, 40, 40, 1, 2, 64, 64, 1, 2, 64),
        _ => new(768, 32, 40, 1, 2, 64, 64, 1, 2, 64),
    };

    /// <summary>Writes the export in the hub layout (config, preprocessor, tokenizer files, <c>onnx/model.onnx</c>).</summary>
    public static void Write(string directory, HfExportOptions options)
    {
        var sizes = SizesOf(options);
        var vocabulary = new TestVocabulary();
        var model = Build(options, vocabulary);
        using var bytes = new MemoryStream();
        using (var output = new Google.Protobuf.CodedOutputStream(bytes, leaveOpen: true))
        {
            model.WriteTo(output);
        }
        HubLayout.Write(directory, options.ModelType, $"owlbox/{options.ModelType}-hf-trace", sizes.ImageSize, sizes.Patch, vocabulary, bytes.ToArray(), sizes.Vision, sizes.Text);
    }

    public static ModelProto Build(HfExportOptions options, TestVocabulary vocabulary)
    {
        var s = SizesOf(options);
        var classes = ColourClasses.All;
        var k = classes.Count;
        var f = k + 4; // a patch's features: colour class (k) and box (4)
        var g = s.Grid;
        var n = g * g;
        var (d, t) = (s.Vision, s.Text);
        if (d < 2 * f + 2 || t < 4 * (k + 1) + 2)
        {
            throw new ArgumentException("the towers are too narrow for the colour construction");
        }
        var random = new Random(1234);
        var v2 = options.ModelType == "owlv2";
        var root = v2 ? "owlv2" : "owlvit";
        var tr = new TorchTrace($"main_graph", opset: 17);
        var pixels = options.DynamicBatch
            ? tr.Input("pixel_values", DataType.Float, "batch_size", 3, "height", "width")
            : tr.Input("pixel_values", DataType.Float, 1, 3, s.ImageSize, s.ImageSize);
        var inputIds = tr.Input("input_ids", DataType.Int64, "text_batch_size", "sequence_length");
        var attentionMask = tr.Input("attention_mask", DataType.Int64, "text_batch_size", "sequence_length");

        float[] Normal(int count, float std) => Enumerable.Range(0, count).Select(_ => (float)(std * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
        string Linear(string scope, string x, float[] weight, int inDim, int outDim, float[]? bias)
        {
            var y = tr.Op(scope, "MatMul", [x, tr.MatMulWeight(weight, inDim, outDim)]);
            return bias is null ? y : tr.Op(scope, "Add", [tr.Weight(scope.Replace('/', '.').TrimStart('.') + ".bias", bias, outDim), y]);
        }
        string LayerNorm(string scope, string x, int dim, float gamma) =>
            tr.Op(scope, "LayerNormalization", [x, tr.Weight(scope.Replace('/', '.') + ".weight", Enumerable.Repeat(gamma, dim).ToArray(), dim), tr.Weight(scope.Replace('/', '.') + ".bias", new float[dim], dim)],
                Attr.Int("axis", -1), Attr.Float("epsilon", 1e-5f));
        // torch.linalg.norm(x, dim=-1, keepdim=True): ReduceL2 from torch.onnx's symbolic, Pow → ReduceSum → Sqrt from a decomposing exporter.
        string Norm(string scope, string x) => options.PowSumSqrtNorm
            ? tr.Op(scope, "Sqrt", [tr.Op(scope, "ReduceSum", [tr.Op(scope, "Pow", [x, tr.Floats(scope, 2f)]), tr.Longs(scope, -1)], Attr.Int("keepdims", 1))])
            : tr.Op(scope, "ReduceL2", [x], Attr.Ints("axes", -1), Attr.Int("keepdims", 1));
        string Unsqueeze0(string scope, string scalar) => tr.Op(scope, "Unsqueeze", [scalar, tr.Longs(scope, 0)]);
        string Dim(string scope, string x, long index) => tr.Op(scope, "Gather", [tr.Op(scope, "Shape", [x]), tr.Long(scope, index)], Attr.Int("axis", 0));
        // nn.GELU() (exact): x * 0.5 * (1 + erf(x / sqrt 2)), as torch.onnx writes it below opset 20.
        string Gelu(string scope, string x) =>
            tr.Op(scope, "Mul", [tr.Op(scope, "Mul", [x, tr.Op(scope, "Add", [tr.Op(scope, "Erf", [tr.Op(scope, "Div", [x, tr.Floats(scope, 1.4142135f)])]), tr.Floats(scope, 1f)])]), tr.Floats(scope, 0.5f)]);
        // quick_gelu (the CLIP towers' activation): x * sigmoid(1.702 x).
        string QuickGelu(string scope, string x) => tr.Op(scope, "Mul", [x, tr.Op(scope, "Sigmoid", [tr.Op(scope, "Mul", [x, tr.Floats(scope, 1.702f)])])]);

        // OwlViTAttention.forward (bsz * num_heads views, bmm, the causal mask then the padding mask added in the
        // [bsz, heads, tgt, src] view) and OwlViTEncoderLayer.forward (pre-norm residual blocks, MLP fc1 → quick_gelu → fc2).
        string EncoderLayer(string scope, string x, int hidden, int heads, int mlp, float lnGamma, (float[] Q, float[] K, float[] V, float[] O) attn, (float[] Fc1, float[] Fc2) mlpW, string? causal, string? padding)
        {
            var headDim = hidden / heads;
            var a = scope + "/self_attn";
            string bsz, tgt;
            string ViewShape(params object[] parts) => tr.Op(a, "Concat", parts.Select(p => p is string str ? str : tr.Longs(a, (long)(int)p)).ToArray(), Attr.Int("axis", 0));
            var h = LayerNorm(scope + "/layer_norm1", x, hidden, lnGamma);
            // bsz, tgt_len, embed_dim = hidden_states.size(): Shape → Gather with dynamic axes, folded to 1 and the
            // token count in a static trace (the text tower's axes stay dynamic).
            var folded = !options.DynamicBatch && causal is null;
            (bsz, tgt) = folded ? ("bsz", "tgt") : (Unsqueeze0(a, Dim(a, h, 0)), Unsqueeze0(a, Dim(a, h, 1)));
            string Fold(params object[] parts) => !folded ? ViewShape(parts)
                : tr.Longs(a, parts.Select(p => p is string str ? (str == bsz ? 1L : n + 1L) : (long)(int)p).ToArray());
            string BszHeads() => tr.Op(a, "Mul", [bsz, tr.Longs(a, heads)]);
            var q = tr.Op(a, "Mul", [Linear(a + "/q_proj", h, attn.Q, hidden, hidden, new float[hidden]), tr.Floats(a, 1f / MathF.Sqrt(headDim))]);
            // _shape(tensor, seq_len, bsz): view(bsz, seq_len, num_heads, head_dim).transpose(1, 2)
            string Shape(string y, object seq) => tr.Op(a, "Transpose", [tr.Op(a, "Reshape", [y, Fold(bsz, seq, heads, headDim)])], Attr.Ints("perm", 0, 2, 1, 3));
            var key = Shape(Linear(a + "/k_proj", h, attn.K, hidden, hidden, new float[hidden]), -1);
            var value = Shape(Linear(a + "/v_proj", h, attn.V, hidden, hidden, new float[hidden]), -1);
            // proj_shape = (bsz * self.num_heads, -1, self.head_dim): a static trace bakes num_heads as the first entry
            var proj = folded ? tr.Longs(a, heads, -1, headDim) : ViewShape(BszHeads(), -1, headDim);
            var qs = tr.Op(a, "Reshape", [Shape(q, tgt), proj]);
            var ks = tr.Op(a, "Reshape", [key, proj]);
            var vs = tr.Op(a, "Reshape", [value, proj]);
            var weights = tr.Op(a, "MatMul", [qs, tr.Op(a, "Transpose", [ks], Attr.Ints("perm", 0, 2, 1))]);
            if (causal is not null && padding is not null)
            {
                var four = ViewShape(bsz, heads, tgt, tgt);
                var three = ViewShape(BszHeads(), tgt, tgt);
                weights = tr.Op(a, "Reshape", [tr.Op(a, "Add", [tr.Op(a, "Reshape", [weights, four]), causal]), three]);
                weights = tr.Op(a, "Reshape", [tr.Op(a, "Add", [tr.Op(a, "Reshape", [weights, four]), padding]), three]);
            }
            var probs = tr.Op(a, "Softmax", [weights], Attr.Int("axis", -1));
            var attended = tr.Op(a, "MatMul", [probs, vs]);
            attended = tr.Op(a, "Transpose", [tr.Op(a, "Reshape", [attended, Fold(bsz, heads, tgt, headDim)])], Attr.Ints("perm", 0, 2, 1, 3));
            attended = tr.Op(a, "Reshape", [attended, Fold(bsz, tgt, hidden)]);
            x = tr.Op(scope, "Add", [x, Linear(a + "/out_proj", attended, attn.O, hidden, hidden, new float[hidden])]);
            var m = LayerNorm(scope + "/layer_norm2", x, hidden, lnGamma);
            m = Linear(scope + "/mlp/fc2", QuickGelu(scope + "/mlp/activation_fn", Linear(scope + "/mlp/fc1", m, mlpW.Fc1, hidden, mlp, new float[mlp])), mlpW.Fc2, mlp, hidden, new float[hidden]);
            return tr.Op(scope, "Add", [x, m]);
        }
        // Output projections exactly zero: the layers cost what real ones cost, and leave the residual stream bit for bit
        // as it was, however a runtime computes (or fuses) their attention.
        (float[], float[], float[], float[]) RandomAttention(int hidden) => (Normal(hidden * hidden, 0.02f), Normal(hidden * hidden, 0.02f), Normal(hidden * hidden, 0.02f), new float[hidden * hidden]);
        (float[], float[]) RandomMlp(int hidden, int mlp) => (Normal(hidden * mlp, 0.02f), new float[mlp * hidden]);

        // ================= vision tower: OwlViTVisionEmbeddings.forward =================
        var vm = root + "/vision_model";
        var emb = vm + "/embeddings";
        // patch_embedding (Conv2d, no bias): channels 0-2 the cell's mean of the normalised pixels times std (the colour
        // less the mean, which the position embedding adds back), 3-5 their negation; embedding rows [rgb, -rgb, C, -C, 0…].
        var patchArea = (float)s.Patch * s.Patch;
        var conv = new float[d * 3 * s.Patch * s.Patch];
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < s.Patch * s.Patch; i++)
            {
                conv[((c * 3) + c) * s.Patch * s.Patch + i] = HubLayout.ClipStd[c] / patchArea;
                conv[(((c + 3) * 3) + c) * s.Patch * s.Patch + i] = -HubLayout.ClipStd[c] / patchArea;
            }
        }
        var patchEmbeds = tr.Op(emb + "/patch_embedding", "Conv", [pixels, tr.Weight(root + ".vision_model.embeddings.patch_embedding.weight", conv, d, 3, s.Patch, s.Patch)],
            Attr.Ints("dilations", 1, 1), Attr.Int("group", 1), Attr.Ints("kernel_shape", s.Patch, s.Patch), Attr.Ints("pads", 0, 0, 0, 0), Attr.Ints("strides", s.Patch, s.Patch));
        // patch_embeds.flatten(2).transpose(1, 2)
        var flatShape = options.DynamicBatch
            ? tr.Op(emb, "Concat", [tr.Op(emb, "Slice", [tr.Op(emb, "Shape", [patchEmbeds]), tr.Longs(emb, 0), tr.Longs(emb, 2), tr.Longs(emb, 0)]), tr.Longs(emb, -1)], Attr.Int("axis", 0))
            : tr.Longs(emb, 1, d, n);
        patchEmbeds = tr.Op(emb, "Transpose", [tr.Op(emb, "Reshape", [patchEmbeds, flatShape])], Attr.Ints("perm", 0, 2, 1));
        // class_embeds = self.class_embedding.expand(batch_size, 1, -1): folded to a [1, 1, D] constant in a static trace.
        var classEmbedding = new float[d];
        string classEmbeds;
        if (options.DynamicBatch)
        {
            var batch = Unsqueeze0(emb, Dim(emb, pixels, 0));
            classEmbeds = tr.Op(emb, "Expand", [tr.Weight(root + ".vision_model.embeddings.class_embedding", classEmbedding, d),
                tr.Op(emb, "Concat", [batch, tr.Longs(emb, 1), tr.Longs(emb, d)], Attr.Int("axis", 0))]);
        }
        else
        {
            classEmbeds = tr.Weight("/" + emb + "/Expand_output_0", classEmbedding, 1, 1, d);
        }
        var embeddings = tr.Op(emb, "Concat", [classEmbeds, patchEmbeds], Attr.Int("axis", 1));
        // + self.position_embedding(self.position_ids), folded: the colour's mean and the ±C pair on every patch row.
        var position = new float[(n + 1) * d];
        for (var p = 1; p <= n; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                (position[p * d + c], position[p * d + 3 + c]) = (HubLayout.ClipMean[c], -HubLayout.ClipMean[c]);
            }
            (position[p * d + 6], position[p * d + 7]) = (EmbeddingC, -EmbeddingC);
        }
        embeddings = tr.Op(emb, "Add", [embeddings, tr.Weight("/" + emb + "/position_embedding/Gather_output_0", position, 1, n + 1, d)]);
        // OwlViTVisionTransformer.forward: pre_layernorm (sic: pre_layrnorm), gamma undoing the ±C pair's scale.
        var hidden = LayerNorm(vm + "/pre_layernorm", embeddings, d, EmbeddingC * MathF.Sqrt(2f / d));

        // ---- colour stand-in for what the tower's attention would learn: colour class and box run per patch ----
        var sc = vm + "/encoder/colour";
        var rgb = tr.Op(sc, "Slice", [tr.Op(sc, "Slice", [hidden, tr.Longs(sc, 1), tr.Longs(sc, n + 1), tr.Longs(sc, 1)]), tr.Longs(sc, 0), tr.Longs(sc, 3), tr.Longs(sc, 2)]);
        // Softmax of −‖rgb − prototype‖² / T, the distances taken directly (not expanded into products and a bias): the
        // nearest class's logit is near zero, so float16 resolves it.
        var prototypes = new float[k * 3];
        for (var c = 0; c < k; c++)
        {
            (prototypes[c * 3], prototypes[c * 3 + 1], prototypes[c * 3 + 2]) = (classes[c].R, classes[c].G, classes[c].B);
        }
        var offset = tr.Op(sc, "Sub", [tr.Op(sc, "Unsqueeze", [rgb, tr.Longs(sc, 2)]), tr.Weight("colour.prototypes", prototypes, k, 3)]); // [B, N, K, 3]
        var distance = tr.Op(sc, "ReduceSum", [tr.Op(sc, "Mul", [offset, offset]), tr.Longs(sc, -1)], Attr.Int("keepdims", 0));
        var onehot = tr.Op(sc, "Softmax", [tr.Op(sc, "Mul", [distance, tr.Floats(sc, -1f / Temperature)])], Attr.Int("axis", -1)); // [B, N, K]
        var grid = tr.Op(sc, "Transpose", [tr.Op(sc, "Reshape", [onehot, tr.Longs(sc, 0, g, g, k)])], Attr.Ints("perm", 0, 3, 1, 2)); // [B, K, g, g]
        var (right, left, down, up) = (RunLength(tr, sc, grid, 3, true, g), RunLength(tr, sc, grid, 3, false, g), RunLength(tr, sc, grid, 2, true, g), RunLength(tr, sc, grid, 2, false, g));
        var col = new float[n];
        var row = new float[n];
        for (var i = 0; i < g; i++)
        {
            for (var j = 0; j < g; j++)
            {
                (col[i * g + j], row[i * g + j]) = (2 * j + 1, 2 * i + 1);
            }
        }
        var twoG = tr.Floats(sc, 2f * g);
        var nudge = tr.Floats(sc, CentreNudge);
        var invG = tr.Floats(sc, 1f / g);
        var cx = tr.Op(sc, "Add", [tr.Op(sc, "Div", [tr.Op(sc, "Add", [tr.Weight("colour.col", col, 1, 1, g, g), tr.Op(sc, "Sub", [right, left])]), twoG]), nudge]);
        var cy = tr.Op(sc, "Add", [tr.Op(sc, "Div", [tr.Op(sc, "Add", [tr.Weight("colour.row", row, 1, 1, g, g), tr.Op(sc, "Sub", [down, up])]), twoG]), nudge]);
        var bw = tr.Op(sc, "Mul", [tr.Op(sc, "Add", [tr.Op(sc, "Add", [right, left]), tr.Floats(sc, 1f)]), invG]);
        var bh = tr.Op(sc, "Mul", [tr.Op(sc, "Add", [tr.Op(sc, "Add", [down, up]), tr.Floats(sc, 1f)]), invG]);
        var target = tr.Op(sc, "Transpose", [tr.Op(sc, "Reshape", [tr.Op(sc, "Concat", [cx, cy, bw, bh], Attr.Int("axis", 1)), tr.Longs(sc, 0, 4, -1)])], Attr.Ints("perm", 0, 2, 1)); // [B, N, 4]
        // What the box head must add to the box bias: logit(target) − bias, so sigmoid(head + bias) = target.
        var boxBias = BoxBias(g);
        // Clipped to [0.02, 0.98]: the logits stay within a range float16 (the prepared fp16 form) resolves to a pixel.
        var clipped = tr.Op(sc, "Clip", [target, tr.Floats(sc, 0.02f), tr.Floats(sc, 0.98f)]);
        var z = tr.Op(sc, "Sub", [tr.Op(sc, "Sub", [tr.Op(sc, "Log", [clipped]), tr.Op(sc, "Log", [tr.Op(sc, "Sub", [tr.Floats(sc, 1f), clipped])])]), tr.Weight("colour.box_bias", boxBias, n, 4)]);
        // Residual stream per patch: [onehot, z, −onehot, −z, C, −C, 0…]; the class token's row [1 × (2f + 2), 0…].
        var place = new float[f * d];
        for (var i = 0; i < f; i++)
        {
            (place[i * d + i], place[i * d + f + i]) = (1, -1);
        }
        var features = tr.Op(sc, "Concat", [onehot, tr.Op(sc, "Div", [z, tr.Floats(sc, BoxFeatureScale)])], Attr.Int("axis", -1));
        var slack = tr.Op(sc, "Sqrt", [tr.Op(sc, "Relu", [tr.Op(sc, "Sub", [tr.Floats(sc, PatchNorm),
            tr.Op(sc, "ReduceSum", [tr.Op(sc, "Mul", [features, features]), tr.Longs(sc, -1)], Attr.Int("keepdims", 1))])])]);
        var placeAll = new float[(f + 1) * d];
        Array.Copy(place, placeAll, place.Length);
        (placeAll[f * d + 2 * f], placeAll[f * d + 2 * f + 1]) = (1, -1);
        var patchRows = tr.Op(sc, "MatMul", [tr.Op(sc, "Concat", [features, slack], Attr.Int("axis", -1)), tr.Weight("colour.place", placeAll, f + 1, d)]);
        var classRow = new float[d];
        Array.Fill(classRow, 1f, 0, 2 * f + 2);
        var classToken = tr.Op(sc, "Add", [tr.Op(sc, "Mul", [tr.Op(sc, "Slice", [hidden, tr.Longs(sc, 0), tr.Longs(sc, 1), tr.Longs(sc, 1)]), tr.Floats(sc, 0f)]), tr.Weight("colour.class_row", classRow, d)]);
        hidden = tr.Op(sc, "Concat", [classToken, patchRows], Attr.Int("axis", 1));
        // ---- the encoder's layers at the real width, their outputs zero ----
        var hiddenGamma = MathF.Sqrt(2 * PatchNorm / d + 1e-5f);
        for (var l = 0; l < s.VisionLayers; l++)
        {
            hidden = EncoderLayer($"{vm}/encoder/layers.{l}", hidden, d, s.VisionHeads, s.VisionMlp, 1f, RandomAttention(d), RandomMlp(d, s.VisionMlp), null, null);
        }
        // ================= OwlViTForObjectDetection.image_text_embedder =================
        // image_embeds = self.owlvit.vision_model.post_layernorm(last_hidden_state)
        var imageEmbeds = LayerNorm(vm + "/post_layernorm", hidden, d, hiddenGamma);
        // class_token_out = torch.broadcast_to(image_embeds[:, :1, :], image_embeds[:, :-1].shape)
        var firstToken = tr.Op("", "Slice", [imageEmbeds, tr.Longs("", 0), tr.Longs("", 1), tr.Longs("", 1)]);
        var allButLast = options.DynamicBatch
            ? tr.Op("", "Shape", [tr.Op("", "Slice", [imageEmbeds, tr.Longs("", 0), tr.Longs("", -1), tr.Longs("", 1)])])
            : tr.Longs("", 1, n, d);
        var classTokenOut = tr.Op("", "Expand", [firstToken, allButLast]);
        // image_embeds = image_embeds[:, 1:, :] * class_token_out; image_embeds = self.layer_norm(image_embeds)
        var merged = tr.Op("", "Mul", [tr.Op("", "Slice", [imageEmbeds, tr.Longs("", 1), tr.Longs("", long.MaxValue), tr.Longs("", 1)]), classTokenOut]);
        var normed = LayerNorm("layer_norm", merged, d, hiddenGamma);
        // image_embeds.reshape((image_embeds.shape[0], num_patches, num_patches, image_embeds.shape[-1]))
        var newSize = options.DynamicBatch
            ? tr.Op("", "Concat", [Unsqueeze0("", Dim("", normed, 0)), tr.Longs("", g), tr.Longs("", g), tr.Longs("", d)], Attr.Int("axis", 0))
            : tr.Longs("", 1, g, g, d);
        var featureMap = tr.Op("", "Reshape", [normed, newSize]);

        // ================= text tower: OwlViTTextTransformer.forward =================
        var txt = root + "/text_model";
        // input_ids.view(-1, input_shape[-1])
        var seq = Dim(txt, inputIds, 1);
        var ids = tr.Op(txt, "Reshape", [inputIds, tr.Op(txt, "Concat", [tr.Longs(txt, -1), Unsqueeze0(txt, seq)], Attr.Int("axis", 0))]);
        // OwlViTTextEmbeddings: token_embedding(input_ids) + position_embedding(position_ids[:, :seq_length]).
        // Token rows [e, −e, C, −C, 0…] over k colours and a small background direction every token carries.
        var e = k + 1;
        var tokenTable = new float[vocabulary.Vocab.Count * t];
        for (var id = 0; id < vocabulary.Vocab.Count; id++)
        {
            (tokenTable[id * t + k], tokenTable[id * t + e + k]) = (Background, -Background);
            var slackValue = MathF.Sqrt(TokenNorm - Background * Background);
            (tokenTable[id * t + 2 * e], tokenTable[id * t + 2 * e + 1]) = (slackValue, -slackValue);
        }
        for (var c = 0; c < k; c++)
        {
            if (classes[c].Word is { } word)
            {
                var id = vocabulary.SingleTokenId(word);
                var slackValue = MathF.Sqrt(TokenNorm - 1 - Background * Background);
                (tokenTable[id * t + c], tokenTable[id * t + e + c]) = (1f, -1f);
                (tokenTable[id * t + 2 * e], tokenTable[id * t + 2 * e + 1]) = (slackValue, -slackValue);
            }
        }
        var te = txt + "/embeddings";
        var tokens = tr.Op(te + "/token_embedding", "Gather", [tr.Weight(root + ".text_model.embeddings.token_embedding.weight", tokenTable, vocabulary.Vocab.Count, t), ids]);
        // position_ids[:, :seq_length]: the registered buffer arange(16)[None], folded to a constant
        var positionIds = tr.Op(te, "Slice", [tr.Op(te, "Unsqueeze", [tr.Longs(te, Enumerable.Range(0, 16).Select(i => (long)i).ToArray()), tr.Longs(te, 0)]), tr.Longs(te, 0), Unsqueeze0(te, seq), tr.Longs(te, 1)]);
        var text = tr.Op(te, "Add", [tokens, tr.Op(te + "/position_embedding", "Gather", [tr.Weight(root + ".text_model.embeddings.position_embedding.weight", new float[16 * t], 16, t), positionIds])]);
        // _create_4d_causal_attention_mask: finfo.min above the diagonal, [bsz, 1, tgt, src].
        var square = tr.Op(txt, "Concat", [Unsqueeze0(txt, seq), Unsqueeze0(txt, seq)], Attr.Int("axis", 0));
        var full = tr.Op(txt, "ConstantOfShape", [square], new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor(FinfoMin) });
        var causal = tr.Op(txt, "Unsqueeze", [tr.Op(txt, "Trilu", [full, tr.Long(txt, 1)], Attr.Int("upper", 1)), tr.Longs(txt, 0, 1)]);
        // _prepare_4d_attention_mask: inverted = 1 − mask[:, None, None, :]; masked_fill(inverted.bool(), finfo.min).
        var expanded = tr.Op(txt, "Cast", [tr.Op(txt, "Unsqueeze", [attentionMask, tr.Longs(txt, 1, 2)])], Attr.Int("to", (long)DataType.Float));
        var inverted = tr.Op(txt, "Sub", [tr.Floats(txt, 1f), expanded]);
        var padding = tr.Op(txt, "Where", [tr.Op(txt, "Cast", [inverted], Attr.Int("to", (long)DataType.Bool)), tr.Floats(txt, FinfoMin), inverted]);
        // Layer 0 pools: queries and keys zero, so each token attends evenly to the tokens before it; values carry the
        // colour directions e into a pool region [p, −p] of the residual. Later layers (full size) change nothing.
        var textGamma = MathF.Sqrt(2 * TokenNorm / t + 1e-5f);
        for (var l = 0; l < s.TextLayers; l++)
        {
            var attention = RandomAttention(t);
            var mlpW = RandomMlp(t, s.TextMlp);
            if (l == 0)
            {
                var vW = new float[t * t];
                var oW = new float[t * t];
                for (var c = 0; c < e; c++)
                {
                    vW[c * t + c] = 1f;
                    (oW[c * t + 2 * e + 2 + c], oW[c * t + 3 * e + 2 + c]) = (textGamma, -textGamma);
                }
                attention = (new float[t * t], new float[t * t], vW, oW);
            }
            text = EncoderLayer($"{txt}/encoder/layers.{l}", text, t, s.TextHeads, s.TextMlp, 1f, attention, mlpW, causal, padding);
        }
        text = LayerNorm(txt + "/final_layer_norm", text, t, textGamma);
        // pooled_output = last_hidden_state[torch.arange(B), input_ids.to(torch.int).argmax(dim=-1)]
        var eos = tr.Op(txt, "ArgMax", [tr.Op(txt, "Cast", [ids], Attr.Int("to", (long)DataType.Int32))], Attr.Int("axis", -1), Attr.Int("keepdims", 0));
        var pooled = tr.Op(txt, "GatherND", [text, tr.Op(txt, "Unsqueeze", [tr.Op(txt, "Cast", [eos], Attr.Int("to", (long)DataType.Int64)), tr.Longs(txt, -1)])], Attr.Int("batch_dims", 1));
        // OwlViTModel.forward: text_embeds = self.text_projection(text_embeds) (no bias): the pool region, colours
        // centred (so a colour's query is its class direction less the mean, as the image side's dense0 writes it).
        var projection = new float[t * t];
        for (var c = 0; c < e; c++)
        {
            for (var c2 = 0; c2 < e; c2++)
            {
                projection[(2 * e + 2 + c) * t + c2] = c == c2 ? 1f : 0f;
                if (c < k && c2 < k)
                {
                    projection[(2 * e + 2 + c) * t + c2] -= 1f / k;
                }
            }
        }
        var projected = tr.Op(root + "/text_projection", "MatMul", [pooled, tr.MatMulWeight(projection, t, t)]);
        // text_embeds_norm = text_embeds / torch.linalg.norm(text_embeds, ord=2, dim=-1, keepdim=True)  (no epsilon)
        var queryEmbeds = tr.Op(root, "Div", [projected, Norm(root, projected)]);
        if (options.TextReadsImage)
        {
            var pixelMean = tr.Op(root, "ReduceMean", [pixels], Attr.Int("keepdims", 0));
            queryEmbeds = tr.Op(root, "Mul", [queryEmbeds, tr.Op(root, "Add", [tr.Op(root, "Mul", [pixelMean, tr.Floats(root, 0f)]), tr.Floats(root, 1f)])]);
        }

        // ================= OwlViTForObjectDetection.forward =================
        // batch_size, num_patches, num_patches, hidden_dim = feature_map.shape
        var batchSize = options.DynamicBatch ? Dim("", featureMap, 0) : null;
        string Batch1D() => batchSize is null ? tr.Longs("", 1) : Unsqueeze0("", batchSize);
        // image_feats = torch.reshape(feature_map, (batch_size, num_patches * num_patches, hidden_dim))
        var imageFeats = tr.Op("", "Reshape", [featureMap, batchSize is null ? tr.Longs("", 1, n, d) : tr.Op("", "Concat", [Batch1D(), tr.Longs("", n), tr.Longs("", d)], Attr.Int("axis", 0))]);
        // max_text_queries = input_ids.shape[0] // batch_size  (a static trace divides by the folded 1)
        var maxTextQueries = tr.Op("", "Div", [Dim("", inputIds, 0), batchSize ?? tr.Long("", 1)]);
        // query_embeds = query_embeds.reshape(batch_size, max_text_queries, query_embeds.shape[-1])
        var textEmbeds = tr.Op("", "Reshape", [queryEmbeds, tr.Op("", "Concat", [Batch1D(), Unsqueeze0("", maxTextQueries), tr.Longs("", t)], Attr.Int("axis", 0))]);
        // input_ids = input_ids.reshape(batch_size, max_text_queries, input_ids.shape[-1]); query_mask = input_ids[..., 0] > 0
        var ids3 = tr.Op("", "Reshape", [inputIds, tr.Op("", "Concat", [Batch1D(), Unsqueeze0("", maxTextQueries), Unsqueeze0("", Dim("", inputIds, 1))], Attr.Int("axis", 0))]);
        var queryMask = tr.Op("", "Greater", [tr.Op("", "Gather", [ids3, tr.Long("", 0)], Attr.Int("axis", -1)), tr.Long("", 0)]);

        // OwlViTClassPredictionHead.forward. dense0 writes the centred colour class: onehot − 1/k.
        var ch = "class_head";
        var dense0 = new float[d * t];
        var dense0Bias = new float[t];
        for (var c = 0; c < k; c++)
        {
            dense0[c * t + c] = 1f;
            dense0Bias[c] = -1f / k;
        }
        var imageClassEmbeds = Linear(ch + "/dense0", imageFeats, dense0, d, t, dense0Bias);
        // image_class_embeds / (torch.linalg.norm(image_class_embeds, dim=-1, keepdim=True) + 1e-6)
        var imageClassNormed = tr.Op(ch, "Div", [imageClassEmbeds, tr.Op(ch, "Add", [Norm(ch, imageClassEmbeds), tr.Floats(ch, 1e-6f)])]);
        // query_embeds / (torch.linalg.norm(query_embeds, dim=-1, keepdim=True) + 1e-6): the queries normalised again
        var queryNormed = tr.Op(ch, "Div", [textEmbeds, tr.Op(ch, "Add", [Norm(ch, textEmbeds), tr.Floats(ch, 1e-6f)])]);
        // pred_logits = torch.einsum("...pd,...qd->...pq", image_class_embeds, query_embeds)
        var predLogits = tr.Op(ch, "Einsum", [imageClassNormed, queryNormed], new AttributeProto { Name = "equation", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("...pd,...qd->...pq") });
        // logit_shift / logit_scale (Linear D→1; elu + 1), calibrated as the colour models: a matching cell ≈ 0.9,
        // another colour ≈ 0.01.
        const float matchLogit = 2.1972246f;
        const float missLogit = -4.5951199f;
        var scale = (matchLogit - missLogit) / (1 + 1f / (k - 1));
        var shift = matchLogit / scale - 1;
        var logitShift = Linear(ch + "/logit_shift", imageFeats, new float[d], d, 1, [shift]);
        var logitScale = tr.Op(ch, "Add", [tr.Op(ch + "/elu", "Elu", [Linear(ch + "/logit_scale", imageFeats, new float[d], d, 1, [scale - 1])], Attr.Float("alpha", 1f)), tr.Floats(ch, 1f)]);
        predLogits = tr.Op(ch, "Mul", [tr.Op(ch, "Add", [predLogits, logitShift]), logitScale]);
        // query_mask = torch.unsqueeze(query_mask, dim=-2); torch.where(query_mask == 0, finfo.min, pred_logits); .to(float32)
        var mask = tr.Op(ch, "Unsqueeze", [queryMask, tr.Longs(ch, -2)]);
        var isPad = tr.Op(ch, "Equal", [tr.Op(ch, "Cast", [mask], Attr.Int("to", (long)DataType.Int64)), tr.Long(ch, 0)]);
        var logits = tr.Op(ch, "Cast", [tr.Op(ch, "Where", [isPad, tr.Floats(ch, FinfoMin), predLogits])], Attr.Int("to", (long)DataType.Float));

        // OwlViTBoxPredictionHead: dense0 → gelu → dense1 → gelu → dense2, here passing the stand-in's z through
        // (offset into GELU's linear range and back).
        // Each value v rides as the pair (v, -v): gelu(v) - gelu(-v) = v Φ(v) + v (1 - Φ(v)) = v, so the next layer
        // recovers it exactly, without leaving the range float16 resolves.
        string PassThroughHead(string scope, int from, int count, float[]? sum)
        {
            var w0 = new float[d * d];
            var b0 = new float[d];
            for (var i = 0; i < count; i++)
            {
                for (var c = 0; c < d; c++)
                {
                    var w = sum is null ? (c == from + i ? BoxFeatureScale : 0f) : (c < sum.Length ? sum[c] : 0f);
                    (w0[c * d + 2 * i], w0[c * d + 2 * i + 1]) = (w, -w);
                }
                (b0[2 * i], b0[2 * i + 1]) = sum is null ? (0f, 0f) : (-4f, 4f);
            }
            var w1 = new float[d * d];
            for (var i = 0; i < count; i++)
            {
                (w1[2 * i * d + 2 * i], w1[(2 * i + 1) * d + 2 * i]) = (1f, -1f);
                (w1[2 * i * d + 2 * i + 1], w1[(2 * i + 1) * d + 2 * i + 1]) = (-1f, 1f);
            }
            var w2 = new float[d * count];
            for (var i = 0; i < count; i++)
            {
                (w2[2 * i * count + i], w2[(2 * i + 1) * count + i]) = (1f, -1f);
            }
            var y = Gelu(scope + "/gelu", Linear(scope + "/dense0", imageFeats, w0, d, d, b0));
            y = Gelu(scope + "/gelu", Linear(scope + "/dense1", y, w1, d, d, new float[d]));
            return Linear(scope + "/dense2", y, w2, d, count, new float[count]);
        }
        // box_predictor: pred_boxes = self.box_head(image_feats); pred_boxes += self.box_bias (compute_box_bias); sigmoid
        var predBoxes = tr.Op("", "Sigmoid", [tr.Op("", "Add", [PassThroughHead("box_head", k, 4, null), tr.Weight("box_bias", boxBias, n, 4)])]);
        string? objectness = null;
        if (v2)
        {
            // Owlv2ForObjectDetection.objectness_predictor: objectness_head(image_features)[..., 0]; a named colour scores high.
            var named = classes.Select(c => c.Word is null ? 0f : 8f).ToArray();
            objectness = tr.Op("", "Gather", [PassThroughHead("objectness_head", 0, 1, named), tr.Long("", 0)], Attr.Int("axis", -1));
        }

        tr.Output(logits, "logits", DataType.Float, options.DynamicBatch ? "image_batch_size" : 1, "num_boxes", "num_queries");
        tr.Output(predBoxes, "pred_boxes", DataType.Float, options.DynamicBatch ? "image_batch_size" : 1, "num_boxes", 4);
        tr.Output(textEmbeds, "text_embeds", DataType.Float, options.DynamicBatch ? "image_batch_size" : 1, "num_queries", t);
        tr.Output(featureMap, "image_embeds", DataType.Float, options.DynamicBatch ? "image_batch_size" : 1, g, g, d);
        if (objectness is not null && options.ObjectnessOutput)
        {
            tr.Output(objectness, "objectness_logits", DataType.Float, options.DynamicBatch ? "image_batch_size" : 1, "num_boxes");
        }
        if (options.CollidingNames)
        {
            tr.Rename(imageClassEmbeds, "class_embeds");
        }
        var model = tr.Model();
        if (objectness is not null && !options.ObjectnessOutput)
        {
            // optimum keeps the configured outputs only; the exporter's dead-code pass drops the objectness head
            PruneTo(model.Graph);
        }
        return model;
    }

    private static TensorProto FloatTensor(float value)
    {
        var t = new TensorProto { DataType = (int)DataType.Float };
        t.Dims.Add(1);
        t.FloatData.Add(value);
        return t;
    }

    /// <summary>compute_box_bias: log(c + 1e-4) − log1p(−c + 1e-4) of the grid corners (i/g, j/g for 1..g, x inner)
    /// and of the patch size 1/g.</summary>
    public static float[] BoxBias(int grid)
    {
        static float Inverse(double c) => (float)(Math.Log(c + 1e-4) - Math.Log(1 - c + 1e-4));
        var bias = new float[grid * grid * 4];
        for (var i = 0; i < grid; i++)
        {
            for (var j = 0; j < grid; j++)
            {
                var p = (i * grid + j) * 4;
                (bias[p], bias[p + 1], bias[p + 2], bias[p + 3]) = (Inverse((j + 1.0) / grid), Inverse((i + 1.0) / grid), Inverse(1.0 / grid), Inverse(1.0 / grid));
            }
        }
        return bias;
    }

    /// <summary>Consecutive same-colour cells after (or before) each cell along one axis of [B, K, g, g] (the model
    /// tool's colour construction: run = same × (1 + shift(run)), unrolled).</summary>
    private static string RunLength(TorchTrace tr, string scope, string onehot, int axis, bool forward, int grid)
    {
        var same = tr.Op(scope, "ReduceSum", [tr.Op(scope, "Mul", [onehot, Shift(tr, scope, onehot, axis, forward, grid)]), tr.Longs(scope, 1)], Attr.Int("keepdims", 1));
        var run = same;
        for (var i = 1; i < grid - 1; i++)
        {
            run = tr.Op(scope, "Mul", [same, tr.Op(scope, "Add", [Shift(tr, scope, run, axis, forward, grid), tr.Floats(scope, 1f)])]);
        }
        return run;
    }

    private static string Shift(TorchTrace tr, string scope, string x, int axis, bool forward, int grid)
    {
        var sliced = forward
            ? tr.Op(scope, "Slice", [x, tr.Longs(scope, 1), tr.Longs(scope, grid), tr.Longs(scope, axis)])
            : tr.Op(scope, "Slice", [x, tr.Longs(scope, 0), tr.Longs(scope, grid - 1), tr.Longs(scope, axis)]);
        var pads = new long[8];
        pads[forward ? 4 + axis : axis] = 1;
        return tr.Op(scope, "Pad", [sliced, tr.Longs(scope, pads)]);
    }

    /// <summary>Drops what no graph output reads (torch.onnx's dead-code elimination).</summary>
    private static void PruneTo(GraphProto graph)
    {
        var needed = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var kept = new List<NodeProto>();
        foreach (var node in graph.Node.Reverse())
        {
            if (node.Output.Any(needed.Contains))
            {
                kept.Add(node);
                needed.UnionWith(node.Input);
            }
        }
        kept.Reverse();
        graph.Node.Clear();
        graph.Node.AddRange(kept);
        var initializers = graph.Initializer.Where(i => needed.Contains(i.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers);
    }
}

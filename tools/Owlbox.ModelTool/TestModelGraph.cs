using DataType = Onnx.TensorProto.Types.DataType;

namespace Owlbox.ModelTool;

/// <summary>
/// A tiny OWL-shaped detector with hand-set weights and exactly the published export's contract (inputs
/// pixel_values / input_ids / attention_mask; outputs logits / pred_boxes / text_embeds / image_embeds). It genuinely
/// detects colours:
/// <list type="bullet">
/// <item>the image is un-normalised and average-pooled into a g×g grid of cells (a patch embedding);</item>
/// <item>each cell's mean colour becomes a near one-hot over colour classes (softmax of distances to prototypes);</item>
/// <item>a query embeds as the sum of its tokens' colour directions ("red square" → red), L2-normalised;</item>
/// <item>logits = (cell·query + shift) × scale, so a matching cell scores ≈0.9 and others ≈0.01; padded query rows
/// (first id 0) are masked like the real model;</item>
/// <item>each cell predicts the box of the run of same-colour cells through it (left/right/up/down run lengths),
/// so a multi-cell object yields its whole extent, in normalised coordinates of the model input.</item>
/// </list>
/// A wrong resize, padding or box scaling therefore moves the boxes, which is what the geometry tests need.
/// </summary>
public static class TestModelGraph
{
    /// <summary>Softmax temperature over squared colour distances: small enough for near one-hot cells.</summary>
    private const float Temperature = 0.02f;

    public static OnnxGraph Build(int imageSize, int grid, TestVocabulary vocabulary, float[] mean, float[] std)
    {
        if (imageSize % grid != 0)
        {
            throw new ArgumentException($"image size {imageSize} is not a multiple of the grid {grid}");
        }
        var classes = ColourClasses.All;
        var k = classes.Count;
        var patch = imageSize / grid;
        var g = new OnnxGraph("owl_test_detector");

        var pixels = g.Input("pixel_values", DataType.Float, "batch_size", 3, "height", "width");
        var inputIds = g.Input("input_ids", DataType.Int64, "text_batch_size", "sequence_length");
        var attention = g.Input("attention_mask", DataType.Int64, "text_batch_size", "sequence_length");

        // ---- image tower: cells → colour classes -------------------------------------------------------
        var rgb = g.Node("Add", [g.Node("Mul", [pixels, g.Floats("std", std, 1, 3, 1, 1)]), g.Floats("mean", mean, 1, 3, 1, 1)]);
        var cells = g.Node("AveragePool", [rgb], [Attr.Ints("kernel_shape", [patch, patch]), Attr.Ints("strides", [patch, patch])]);
        var w = new float[k * 3];
        var bias = new float[k];
        for (var c = 0; c < k; c++)
        {
            var (r, gg, b) = (classes[c].R, classes[c].G, classes[c].B);
            (w[c * 3], w[c * 3 + 1], w[c * 3 + 2]) = (2 * r / Temperature, 2 * gg / Temperature, 2 * b / Temperature);
            bias[c] = -(r * r + gg * gg + b * b) / Temperature;
        }
        var classLogits = g.Node("Conv", [cells, g.Floats("colour_w", w, k, 3, 1, 1), g.Floats("colour_b", bias, k)]);
        var onehot = g.Node("Softmax", [classLogits], [Attr.Int("axis", 1)]); // [B, K, g, g]
        var imageEmbeds = g.Node("Transpose", [onehot], [Attr.Ints("perm", [0, 2, 3, 1])]); // [B, g, g, K]
        var classEmbeds = Normalize(g, g.Node("Reshape", [imageEmbeds, g.Int64s("shape", 0, -1, k)]), 2); // [B, N, K]

        // ---- text tower: token colour directions, masked sum, L2 norm -----------------------------------
        var table = new float[vocabulary.Vocab.Count * k];
        for (var c = 0; c < k; c++)
        {
            if (classes[c].Word is { } word)
            {
                table[vocabulary.SingleTokenId(word) * k + c] = 1f;
            }
        }
        var tokens = g.Node("Gather", [g.Floats("token_embedding", table, vocabulary.Vocab.Count, k), inputIds]); // [T, L, K]
        var mask = g.Node("Unsqueeze", [g.Node("Cast", [attention], [Attr.Int("to", (long)DataType.Float)]), g.Int64s("axes", 2)]);
        var pooled = g.Node("ReduceSum", [g.Node("Mul", [tokens, mask]), g.Int64s("axes", 1)], [Attr.Int("keepdims", 0)]); // [T, K]
        var queries = Normalize(g, pooled, 1);
        var batch = g.Node("Slice", [g.Node("Shape", [pixels]), g.Int64s("s", 0), g.Int64s("e", 1)]);
        var textEmbeds = g.Node("Reshape", [queries, g.Node("Concat", [batch, g.Int64s("m1", -1), g.Int64s("k", k)], [Attr.Int("axis", 0)])]); // [B, Q, K]

        // ---- class head: (cell·query + shift) × scale, padded queries masked -----------------------------
        const float matchLogit = 2.1972246f;   // ln(0.9/0.1): sigmoid 0.9 for a perfect colour match
        const float missLogit = -4.5951199f;   // ln(0.01/0.99): sigmoid 0.01 for an unrelated cell
        var scale = matchLogit - missLogit;
        var shift = missLogit / scale;
        var similarity = g.Node("MatMul", [classEmbeds, g.Node("Transpose", [textEmbeds], [Attr.Ints("perm", [0, 2, 1])])]); // [B, N, Q]
        var logits = g.Node("Mul", [g.Node("Add", [similarity, g.Scalar(shift)]), g.Scalar(scale)]);
        var firstIds = g.Node("Slice", [inputIds, g.Int64s("s", 0), g.Int64s("e", 1), g.Int64s("a", 1)]);
        var valid = g.Node("Greater", [firstIds, g.Initializer(Tensors.Int64s(g.Unique("zero"), [0]))]);
        var validByImage = g.Node("Reshape", [valid, g.Node("Concat", [batch, g.Int64s("one", 1), g.Int64s("m1", -1)], [Attr.Int("axis", 0)])]);
        var masked = g.Node("Where", [validByImage, logits, g.Scalar(float.MinValue)]);

        // ---- box head: run of same-colour cells through each cell ----------------------------------------
        var right = RunLength(g, onehot, axis: 3, forward: true, grid);
        var left = RunLength(g, onehot, axis: 3, forward: false, grid);
        var down = RunLength(g, onehot, axis: 2, forward: true, grid);
        var up = RunLength(g, onehot, axis: 2, forward: false, grid);
        var col = new float[grid * grid];
        var row = new float[grid * grid];
        for (var i = 0; i < grid; i++)
        {
            for (var j = 0; j < grid; j++)
            {
                col[i * grid + j] = 2 * j + 1;
                row[i * grid + j] = 2 * i + 1;
            }
        }
        var twoG = g.Scalar(2f * grid);
        var invG = g.Scalar(1f / grid);
        var cx = g.Node("Div", [g.Node("Add", [g.Floats("col", col, 1, 1, grid, grid), g.Node("Sub", [right, left])]), twoG]);
        var cy = g.Node("Div", [g.Node("Add", [g.Floats("row", row, 1, 1, grid, grid), g.Node("Sub", [down, up])]), twoG]);
        var bw = g.Node("Mul", [g.Node("Add", [g.Node("Add", [right, left]), g.Scalar(1f)]), invG]);
        var bh = g.Node("Mul", [g.Node("Add", [g.Node("Add", [down, up]), g.Scalar(1f)]), invG]);
        var stacked = g.Node("Concat", [cx, cy, bw, bh], [Attr.Int("axis", 1)]); // [B, 4, g, g]
        var boxes = g.Node("Transpose", [g.Node("Reshape", [stacked, g.Int64s("shape", 0, 4, -1)])], [Attr.Ints("perm", [0, 2, 1])]);

        g.Output(masked, "logits", DataType.Float, "image_batch_size", "num_boxes", "num_queries");
        g.Output(boxes, "pred_boxes", DataType.Float, "image_batch_size", "num_boxes", 4);
        g.Output(textEmbeds, "text_embeds", DataType.Float, "image_batch_size", "num_queries", k);
        g.Output(imageEmbeds, "image_embeds", DataType.Float, "image_batch_size", grid, grid, k);
        return g;
    }

    /// <summary>x / (‖x‖ + 1e-6) along one axis, as OWL's class head normalises.</summary>
    private static string Normalize(OnnxGraph g, string x, int axis)
    {
        var norm = g.Node("ReduceL2", [x], [Attr.Ints("axes", [axis]), Attr.Int("keepdims", 1)]);
        return g.Node("Div", [x, g.Node("Add", [norm, g.Scalar(1e-6f)])]);
    }

    /// <summary>How many consecutive cells after (or before) each cell share its colour class, along one axis:
    /// run = same × (1 + shift(run)), unrolled grid−1 times.</summary>
    private static string RunLength(OnnxGraph g, string onehot, int axis, bool forward, int grid)
    {
        var neighbour = Shift(g, onehot, axis, forward, grid);
        var same = g.Node("ReduceSum", [g.Node("Mul", [onehot, neighbour]), g.Int64s("axes", 1)], [Attr.Int("keepdims", 1)]); // [B,1,g,g]
        var run = same;
        for (var i = 1; i < grid - 1; i++)
        {
            run = g.Node("Mul", [same, g.Node("Add", [Shift(g, run, axis, forward, grid), g.Scalar(1f)])]);
        }
        return run;
    }

    /// <summary>out[i] = x[i+1] (forward) or x[i−1] (backward) along an axis of a 4-D tensor, zero-filled at the edge.</summary>
    private static string Shift(OnnxGraph g, string x, int axis, bool forward, int grid)
    {
        var sliced = forward
            ? g.Node("Slice", [x, g.Int64s("s", 1), g.Int64s("e", grid), g.Int64s("a", axis)])
            : g.Node("Slice", [x, g.Int64s("s", 0), g.Int64s("e", grid - 1), g.Int64s("a", axis)]);
        var pads = new long[8];
        pads[forward ? 4 + axis : axis] = 1;
        return g.Node("Pad", [sliced, g.Int64s("pads", pads)]);
    }
}

namespace Owlbox.Detection.Inference;

/// <summary>
/// Which patch of an example image speaks for a box the user drew on it: its class embedding becomes a query, scored
/// by the class head like a text query. As Hugging Face's <c>embed_image_query</c> (modeling_owlvit.py and
/// modeling_owlv2.py, transformers @c56db8dc), with the user's box in place of the whole image [0, 0, 1, 1]:
/// <list type="number">
/// <item>IoU of every predicted box (cx, cy, w, h → corners, as <c>center_to_corners_format</c>) with the example box;
/// generalised IoU when every IoU is 0;</item>
/// <item>keep the patches within 80 % of the best;</item>
/// <item>OWL-ViT (no objectness): among those, the one whose embedding is least similar to the image's mean class
/// embedding; OWLv2 (objectness kept): the one with the highest objectness logit, the model author's recommendation
/// for OWLv2 (transformers#39710, scenic#989), where the mean rule is HF's carry-over from OWL-ViT.
/// Ties go to the first patch, as <c>torch.argmin</c> does.</item>
/// </list>
/// Two differences from HF, both deliberate: the class embeddings are the normalised Ê the embedding cache keeps (HF
/// ranks by the raw dense0 output, whose norm Owlbox does not keep; the chosen query is normalised before scoring
/// either way, so only the choice among kept patches can differ); and when the best generalised IoU is negative, HF's
/// threshold (0.8 × best) lies above the best and keeps nothing, so the threshold there is 1.2 × best, as scenic's
/// notebook does.
/// </summary>
public static class ExampleQuerySelection
{
    /// <summary>Patches whose IoU is at least this share of the best are candidates.</summary>
    public const float KeepWithin = 0.8f;

    /// <summary>The chosen patch's index, or -1 when no patch qualifies (only with non-finite boxes).</summary>
    /// <param name="boxes">[N, 4] predicted boxes, normalised (cx, cy, w, h) as the model outputs them.</param>
    /// <param name="classEmbeddings">[N, D] class embeddings.</param>
    /// <param name="objectness">[N] OWLv2 objectness logits, or empty (OWL-ViT, or an export without them).</param>
    /// <param name="example">The example box as normalised corners (x0, y0, x1, y1) in the same frame as the boxes.</param>
    public static int SelectPatch(ReadOnlySpan<float> boxes, ReadOnlySpan<float> classEmbeddings, int dimension,
        ReadOnlySpan<float> objectness, (float X0, float Y0, float X1, float Y1) example)
    {
        var n = boxes.Length / 4;
        if (boxes.Length != n * 4 || classEmbeddings.Length != n * dimension || (objectness.Length != 0 && objectness.Length != n))
        {
            throw new ArgumentException($"{n} boxes need {n * dimension} embedding values and 0 or {n} objectness values; got {classEmbeddings.Length} and {objectness.Length}");
        }
        var ious = Overlaps(boxes, example);
        var best = float.NegativeInfinity;
        foreach (var iou in ious)
        {
            best = MathF.Max(best, iou);
        }
        var threshold = best >= 0 ? best * KeepWithin : best * (2 - KeepWithin);
        var chosen = -1;
        var chosenRank = float.PositiveInfinity;
        var mean = objectness.Length == 0 ? Mean(classEmbeddings, dimension) : null;
        for (var i = 0; i < n; i++)
        {
            if (!(ious[i] >= threshold))
            {
                continue;
            }
            // Lower ranks first: similarity to the mean (OWL-ViT), or negated objectness (OWLv2).
            var rank = mean is null ? -objectness[i] : Dot(mean, classEmbeddings.Slice(i * dimension, dimension));
            if (rank < chosenRank || chosen < 0)
            {
                (chosen, chosenRank) = (i, rank);
            }
        }
        return chosen;
    }

    /// <summary>The IoU of each predicted box with the example box, or the generalised IoU when all IoUs are 0.</summary>
    public static float[] Overlaps(ReadOnlySpan<float> boxes, (float X0, float Y0, float X1, float Y1) example)
    {
        var n = boxes.Length / 4;
        var ious = new float[n];
        var allZero = true;
        var exampleArea = (example.X1 - example.X0) * (example.Y1 - example.Y0);
        for (var i = 0; i < n; i++)
        {
            var (x0, y0, x1, y1) = Corners(boxes.Slice(i * 4, 4));
            var inter = MathF.Max(MathF.Min(example.X1, x1) - MathF.Max(example.X0, x0), 0) * MathF.Max(MathF.Min(example.Y1, y1) - MathF.Max(example.Y0, y0), 0);
            var union = exampleArea + (x1 - x0) * (y1 - y0) - inter;
            ious[i] = inter / union;
            allZero &= ious[i] == 0;
        }
        if (!allZero)
        {
            return ious;
        }
        for (var i = 0; i < n; i++)
        {
            var (x0, y0, x1, y1) = Corners(boxes.Slice(i * 4, 4));
            var union = exampleArea + (x1 - x0) * (y1 - y0); // the intersection is 0 here
            var enclosing = MathF.Max(MathF.Max(example.X1, x1) - MathF.Min(example.X0, x0), 0) * MathF.Max(MathF.Max(example.Y1, y1) - MathF.Min(example.Y0, y0), 0);
            ious[i] = ious[i] - (enclosing - union) / enclosing;
        }
        return ious;
    }

    /// <summary>HF's <c>center_to_corners_format</c>: (cx − 0.5w, cy − 0.5h, cx + 0.5w, cy + 0.5h).</summary>
    public static (float X0, float Y0, float X1, float Y1) Corners(ReadOnlySpan<float> box) =>
        (box[0] - 0.5f * box[2], box[1] - 0.5f * box[3], box[0] + 0.5f * box[2], box[1] + 0.5f * box[3]);

    private static float[] Mean(ReadOnlySpan<float> embeddings, int dimension)
    {
        var n = embeddings.Length / dimension;
        var sum = new double[dimension];
        for (var i = 0; i < n; i++)
        {
            for (var d = 0; d < dimension; d++)
            {
                sum[d] += embeddings[i * dimension + d];
            }
        }
        return [.. sum.Select(s => (float)(s / n))];
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);
}

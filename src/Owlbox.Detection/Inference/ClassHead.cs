namespace Owlbox.Detection.Inference;

/// <summary>What the class head needs of an image, per patch: normalised class embeddings [N, D], logit shift [N] and
/// logit scale [N] (all images of a batch concatenated). With these cached, a new prompt over a seen image costs one
/// N×D×Q product and no forward pass.</summary>
public sealed record ImageFeatures(float[] ClassEmbeddings, float[] Shift, float[] Scale, int Dimension);

/// <summary>OWL's class head: logits[n, q] = (Ê[n]·q̂[q] + shift[n]) × scale[n]; padded query slots get float.MinValue.</summary>
public static class ClassHead
{
    /// <param name="logits">Receives [N, queries].</param>
    public static void Logits(ImageFeatures image, float[] queryEmbeddings, int queries, IReadOnlyList<bool> paddedQueries, Span<float> logits)
    {
        var d = image.Dimension;
        var n = image.Shift.Length;
        if (logits.Length != n * queries)
        {
            throw new ArgumentException($"logits holds {logits.Length} values; {n} patches x {queries} queries need {n * queries}", nameof(logits));
        }
        var e = image.ClassEmbeddings.AsSpan();
        var q = queryEmbeddings.AsSpan();
        for (var p = 0; p < n; p++)
        {
            var row = e.Slice(p * d, d);
            for (var j = 0; j < queries; j++)
            {
                logits[p * queries + j] = paddedQueries[j]
                    ? float.MinValue
                    : (System.Numerics.Tensors.TensorPrimitives.Dot(row, q.Slice(j * d, d)) + image.Shift[p]) * image.Scale[p];
            }
        }
    }
}

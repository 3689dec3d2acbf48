using System.Numerics.Tensors;

namespace Owlbox.Detection.Inference;

/// <summary>What the class head needs of an image, per patch, as the image encoder gives it: normalised class
/// embeddings [N, D], logit shift [N] and logit scale [N] (all images of a batch concatenated). With these kept, a new
/// prompt over a seen image costs one N×D×Q product and no forward pass. <see cref="Objectness"/>: OWLv2's objectness
/// logit per patch [N] where the encoder outputs it, else empty; carried along, not scored.</summary>
public sealed record ImageFeatures(float[] ClassEmbeddings, float[] Shift, float[] Scale, int Dimension, float[]? Objectness = null)
{
    public float[] Objectness { get; init; } = Objectness ?? [];
}

/// <summary>OWL's class head: logits[n, q] = (Ê[n]·q̂[q] + shift[n]) × scale[n]; padded query slots get float.MinValue.</summary>
public static class ClassHead
{
    public static void Logits(ImageFeatures image, ReadOnlySpan<float> queryEmbeddings, int queries, IReadOnlyList<bool> paddedQueries, Span<float> logits) =>
        Logits<float>(image.ClassEmbeddings, image.Shift, image.Scale, image.Dimension, queryEmbeddings, queries, paddedQueries, logits);

    /// <param name="embeddings">[N, D] as <see cref="float"/> (fresh from the encoder) or <see cref="Half"/> (kept by
    /// the embedding cache); a Half row is widened once and scored against every query.</param>
    /// <param name="logits">Receives [N, queries].</param>
    public static void Logits<T>(ReadOnlySpan<T> embeddings, ReadOnlySpan<float> shift, ReadOnlySpan<float> scale, int dimension,
        ReadOnlySpan<float> queryEmbeddings, int queries, IReadOnlyList<bool> paddedQueries, Span<float> logits) where T : unmanaged
    {
        var d = dimension;
        var n = shift.Length;
        if (logits.Length != n * queries || embeddings.Length != n * d || scale.Length != n)
        {
            throw new ArgumentException($"{n} patches x {queries} queries need {n * queries} logits and {n * d} embedding values; got {logits.Length} and {embeddings.Length}", nameof(logits));
        }
        Span<float> widened = typeof(T) == typeof(Half) ? stackalloc float[d] : default;
        for (var p = 0; p < n; p++)
        {
            scoped ReadOnlySpan<float> row;
            if (typeof(T) == typeof(Half))
            {
                TensorPrimitives.ConvertToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<T, Half>(embeddings.Slice(p * d, d)), widened);
                row = widened;
            }
            else
            {
                row = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(embeddings.Slice(p * d, d));
            }
            for (var j = 0; j < queries; j++)
            {
                logits[p * queries + j] = paddedQueries[j]
                    ? float.MinValue
                    : (TensorPrimitives.Dot(row, queryEmbeddings.Slice(j * d, d)) + shift[p]) * scale[p];
            }
        }
    }
}

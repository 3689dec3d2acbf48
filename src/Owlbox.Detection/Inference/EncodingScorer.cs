namespace Owlbox.Detection.Inference;

/// <summary>The split form's last step: an image encoding (fresh from the image encoder, or kept by the embedding
/// cache) scored against a job's query embeddings by the <see cref="ClassHead"/>, into the same
/// <see cref="DetectorOutput"/> the single graph gives: logits[n, q] = (Ê[n]·q̂[q] + shift[n]) × scale[n].</summary>
public static class EncodingScorer
{
    /// <summary>The class head over images fresh from the image encoder.</summary>
    public static DetectorOutput Score(float[] boxes, ImageFeatures features, QueryTokens queries) =>
        Score<float>(boxes, features.ClassEmbeddings, features.Shift, features.Scale, features.Dimension, queries);

    /// <summary>The class head over a kept encoding: a re-prompt of a seen image costs only this.</summary>
    public static DetectorOutput Score(CachedImage image, QueryTokens queries) =>
        Score<Half>(image.Boxes, image.ClassEmbeddings, image.Shift, image.Scale, image.Dimension, queries);

    private static DetectorOutput Score<T>(float[] boxes, T[] embeddings, float[] shift, float[] scale, int dimension, QueryTokens queries) where T : unmanaged
    {
        var q = queries.Embeddings ?? throw new InvalidOperationException("queries were prepared without text embeddings");
        var patchesInBatch = shift.Length;
        var images = boxes.Length / 4 / patchesInBatch;
        var output = new DetectorOutput(images, patchesInBatch / images, queries.Count);
        ClassHead.Logits<T>(embeddings, shift, scale, dimension, q, queries.Count, PaddedQueries(queries), output.WritableLogits.Span);
        boxes.CopyTo(output.WritableBoxes);
        return output;
    }

    private static bool[] PaddedQueries(QueryTokens queries)
    {
        // As the single graph masks query rows whose first id is the pad id 0.
        var padded = new bool[queries.Count];
        for (var i = 0; i < queries.Count; i++)
        {
            padded[i] = queries.InputIds[i * queries.Length] == 0;
        }
        return padded;
    }
}

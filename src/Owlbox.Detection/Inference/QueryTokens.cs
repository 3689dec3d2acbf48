namespace Owlbox.Detection.Inference;

/// <summary>Text queries tokenized once per job: <c>input_ids</c> and <c>attention_mask</c> rows of equal length
/// (padded with id 0 and mask 0 to the longest query; the causal text tower pools at EOS, so padding length does
/// not change an embedding).</summary>
public sealed record QueryTokens(int Count, int Length, long[] InputIds, long[] AttentionMask)
{
    /// <summary>With a split model: the queries' L2-normalised text embeddings [Count, EmbeddingSize], computed once.</summary>
    public float[]? Embeddings { get; init; }

    public int EmbeddingSize { get; init; }
}

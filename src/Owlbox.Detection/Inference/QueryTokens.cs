namespace Owlbox.Detection.Inference;

/// <summary>Text queries tokenized once per job: <c>input_ids</c> and <c>attention_mask</c> rows of equal length
/// (padded with id 0 and mask 0 to the longest query; the causal text tower pools at EOS, so padding length does
/// not change an embedding).</summary>
public sealed record QueryTokens(int Count, int Length, long[] InputIds, long[] AttentionMask)
{
    /// <summary>With a split model: the queries' L2-normalised text embeddings [Count, EmbeddingSize], computed once.</summary>
    public float[]? Embeddings { get; init; }

    public int EmbeddingSize { get; init; }

    /// <summary>The queries tokenized (truncated to <paramref name="maxTokens"/>, EOS kept) and padded to the longest.</summary>
    public static QueryTokens Create(Owlbox.Models.Text.ClipTokenizer tokenizer, IReadOnlyList<string> texts, int maxTokens)
    {
        var encoded = texts.Select(t => tokenizer.Encode(t, maxTokens)).ToArray();
        var length = encoded.Max(e => e.Length);
        var ids = new long[texts.Count * length];
        var mask = new long[texts.Count * length];
        Array.Fill(ids, tokenizer.PadId);
        for (var q = 0; q < encoded.Length; q++)
        {
            for (var t = 0; t < encoded[q].Length; t++)
            {
                ids[q * length + t] = encoded[q][t];
                mask[q * length + t] = 1;
            }
        }
        return new QueryTokens(texts.Count, length, ids, mask);
    }
}

using Microsoft.ML.OnnxRuntime;
using Owlbox.Models.Text;

namespace Owlbox.Detection.Inference;

/// <summary>A job's text queries made ready for the model: tokenized with the model's CLIP tokenizer (padded to its
/// text length), and with the split form also encoded once by the text-encoder session into normalised query
/// embeddings, which the C# class head scores against every image.</summary>
internal sealed class QueryEncoder(ClipTokenizer tokenizer, int maxTextTokens, InferenceSession? textEncoder) : IDisposable
{
    private const string InputIds = "input_ids";
    private const string AttentionMask = "attention_mask";
    private const string TextEmbeds = "text_embeds";

    private readonly RunOptions _runOptions = new();

    public ClipTokenizer Tokenizer { get; } = tokenizer;

    /// <summary>Token count of a query including BOS/EOS, for the prompt grammar's length check.</summary>
    public int CountTokens(string text) => Tokenizer.Encode(text).Length;

    public QueryTokens Prepare(IReadOnlyList<string> texts)
    {
        var tokens = QueryTokens.Create(Tokenizer, texts, maxTextTokens);
        if (textEncoder is null)
        {
            return tokens;
        }
        using var idv = OrtValue.CreateTensorValueFromMemory(tokens.InputIds, [tokens.Count, tokens.Length]);
        using var mv = OrtValue.CreateTensorValueFromMemory(tokens.AttentionMask, [tokens.Count, tokens.Length]);
        using var outputs = textEncoder.Run(_runOptions, [InputIds, AttentionMask], [idv, mv], [TextEmbeds]);
        var embeddings = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        return tokens with { Embeddings = embeddings, EmbeddingSize = embeddings.Length / tokens.Count };
    }

    public void Dispose()
    {
        textEncoder?.Dispose();
        _runOptions.Dispose();
    }
}

using System.Text.Json.Nodes;
using Owlbox.Models.Text;

namespace Owlbox.ModelTool;

/// <summary>
/// A small CLIP-style BPE vocabulary with the real layout: the 256 byte characters first (so "!" is id 0, the OWL pad
/// token), then the same with "&lt;/w&gt;", then one merge chain per whole word, then BOS and EOS last. Colour words
/// come first so each is a single token the test model can embed.
/// </summary>
public sealed class TestVocabulary
{
    private static readonly string[] s_commonWords =
    [
        "a", "an", "the", "of", "on", "in", "with", "and", "or", "photo", "picture", "image",
        "square", "circle", "box", "block", "shape", "thing", "object", "big", "small", "large", "little",
        "light", "dark", "bright", "round", "cup", "coffee", "person", "car", "ball", "bottle", "sign", "door",
        "window", "apple", "banana", "flower", "tile", "patch", "rectangle", "marker", "label", "item",
    ];

    public TestVocabulary()
    {
        var byteChars = ClipTokenizer.BuildByteToUnicode();
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var b in ClipTokenizer.BytesInVocabularyOrder())
        {
            vocab[byteChars[b]] = vocab.Count;
        }
        foreach (var b in ClipTokenizer.BytesInVocabularyOrder())
        {
            vocab[byteChars[b] + "</w>"] = vocab.Count;
        }
        var merges = new List<(string, string)>();
        var words = ColourClasses.All.Where(c => c.Word is not null).Select(c => c.Word!).Concat(s_commonWords).Distinct();
        foreach (var word in words)
        {
            // Merge the word's current tokens pairwise until it is one token: each new merge ranks after every
            // earlier one, so it applies to exactly the tokens the earlier merges leave.
            while (true)
            {
                var tokens = new ClipTokenizer(vocab, merges, -1, -1, 0).EncodeWordTokens(word);
                if (tokens.Count == 1)
                {
                    break;
                }
                merges.Add((tokens[0], tokens[1]));
                vocab.TryAdd(tokens[0] + tokens[1], vocab.Count);
            }
        }
        vocab[ClipTokenizer.StartToken] = vocab.Count;
        vocab[ClipTokenizer.EndToken] = vocab.Count;
        Vocab = vocab;
        Merges = merges;
        Tokenizer = new ClipTokenizer(vocab, merges, vocab[ClipTokenizer.StartToken], vocab[ClipTokenizer.EndToken], 0);
    }

    public Dictionary<string, int> Vocab { get; }
    public List<(string Left, string Right)> Merges { get; }
    public ClipTokenizer Tokenizer { get; }

    /// <summary>The id of a word that must encode to exactly one token.</summary>
    public int SingleTokenId(string word)
    {
        var ids = Tokenizer.Encode(word);
        if (ids.Length != 3)
        {
            throw new InvalidOperationException($"'{word}' encodes to {ids.Length - 2} tokens; the test vocabulary needs one");
        }
        return ids[1];
    }

    /// <summary>tokenizer.json in the HF tokenizers format, shaped like the published CLIP one.</summary>
    public JsonObject TokenizerJson()
    {
        var vocab = new JsonObject();
        foreach (var (token, id) in Vocab.Where(kv => !kv.Key.StartsWith("<|", StringComparison.Ordinal)).OrderBy(kv => kv.Value))
        {
            vocab[token] = id;
        }
        var merges = new JsonArray(Merges.Select(m => (JsonNode)JsonValue.Create($"{m.Left} {m.Right}")!).ToArray());
        JsonObject Added(string content) => new()
        {
            ["id"] = Vocab[content],
            ["content"] = content,
            ["single_word"] = false,
            ["lstrip"] = false,
            ["rstrip"] = false,
            ["normalized"] = true,
            ["special"] = true,
        };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            // As in the published OWL tokenizers: "!" (id 0, the pad token) is an added token, so "!!" is [0, 0].
            ["added_tokens"] = new JsonArray(Added("!"), Added(ClipTokenizer.StartToken), Added(ClipTokenizer.EndToken)),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "NFC" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["Regex"] = "\\s+" }, ["content"] = " " },
                    new JsonObject { ["type"] = "Lowercase" }),
            },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
                        ["behavior"] = "Removed",
                        ["invert"] = true,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "RobertaProcessing",
                ["sep"] = new JsonArray(ClipTokenizer.EndToken, Vocab[ClipTokenizer.EndToken]),
                ["cls"] = new JsonArray(ClipTokenizer.StartToken, Vocab[ClipTokenizer.StartToken]),
                ["trim_offsets"] = false,
                ["add_prefix_space"] = false,
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = ClipTokenizer.EndToken,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "</w>",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
    }
}

using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Owlbox.Models.Text;

/// <summary>
/// CLIP's byte-level BPE as the HF fast tokenizer runs it for OWL-ViT/OWLv2: NFC, whitespace collapsed, lower case;
/// split on CLIP's regex; bytes mapped to printable characters; BPE with a <c>&lt;/w&gt;</c> end-of-word suffix;
/// BOS and EOS around. Loaded from the published <c>tokenizer.json</c>.
/// </summary>
public sealed partial class ClipTokenizer
{
    public const string StartToken = "<|startoftext|>";
    public const string EndToken = "<|endoftext|>";
    private const string EndOfWord = "</w>";

    private static readonly string[] s_byteToChar = BuildByteToUnicode();
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(string, string), int> _mergeRanks;
    private readonly Dictionary<string, int[]> _wordCache = new(StringComparer.Ordinal);
    private readonly Lock _cacheLock = new();

    private readonly (string Content, int Id)[] _addedTokens;

    /// <param name="addedTokens">Tokens matched verbatim before BPE (OWL's tokenizer adds "!" as id 0 this way).</param>
    public ClipTokenizer(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, int startId, int endId, int padId,
        IReadOnlyList<(string Content, int Id)>? addedTokens = null)
    {
        _vocab = vocab;
        _addedTokens = (addedTokens ?? []).Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ToArray();
        _mergeRanks = new Dictionary<(string, string), int>(merges.Count);
        for (var i = 0; i < merges.Count; i++)
        {
            _mergeRanks.TryAdd(merges[i], i);
        }
        StartId = startId;
        EndId = endId;
        PadId = padId;
    }

    public int StartId { get; }
    public int EndId { get; }

    /// <summary>OWL's pad token is "!" (id 0); padded positions also get attention mask 0.</summary>
    public int PadId { get; }

    public int VocabularySize => _vocab.Count;

    /// <summary>Tokens of <paramref name="text"/> with BOS and EOS, not truncated.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int> { StartId };
        var normalized = WhitespaceRegex().Replace(text.Normalize(NormalizationForm.FormC), " ").ToLowerInvariant();
        var segmentStart = 0;
        for (var i = 0; i < normalized.Length; i++)
        {
            foreach (var (content, id) in _addedTokens)
            {
                if (string.CompareOrdinal(normalized, i, content, 0, content.Length) == 0)
                {
                    EncodeSegment(normalized[segmentStart..i], ids);
                    ids.Add(id);
                    i += content.Length - 1;
                    segmentStart = i + 1;
                    break;
                }
            }
        }
        EncodeSegment(normalized[segmentStart..], ids);
        ids.Add(EndId);
        return ids.ToArray();
    }

    private void EncodeSegment(string segment, List<int> ids)
    {
        foreach (Match m in PreTokenizerRegex().Matches(segment))
        {
            ids.AddRange(EncodeWord(m.Value));
        }
    }

    /// <summary>Tokens truncated to <paramref name="maxLength"/> keeping EOS last, because the text encoder pools at
    /// the EOS position (cutting the array, as transformers.js does, drops it).</summary>
    public int[] Encode(string text, int maxLength)
    {
        var ids = Encode(text);
        if (ids.Length <= maxLength)
        {
            return ids;
        }
        var truncated = ids[..maxLength];
        truncated[^1] = EndId;
        return truncated;
    }

    private int[] EncodeWord(string word)
    {
        lock (_cacheLock)
        {
            if (_wordCache.TryGetValue(word, out var cached))
            {
                return cached;
            }
        }
        var symbols = EncodeWordTokens(word);
        var ids = new int[symbols.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            // CLIP's unknown token is EOS; with a full byte-level vocabulary it is never needed.
            ids[i] = _vocab.TryGetValue(symbols[i], out var id) ? id : EndId;
        }
        lock (_cacheLock)
        {
            _wordCache[word] = ids;
        }
        return ids;
    }

    /// <summary>BPE of one pre-tokenized word, as token strings.</summary>
    public List<string> EncodeWordTokens(string word)
    {
        var bytes = Encoding.UTF8.GetBytes(word);
        var symbols = new List<string>(bytes.Length);
        foreach (var b in bytes)
        {
            symbols.Add(s_byteToChar[b]);
        }
        symbols[^1] += EndOfWord;
        while (symbols.Count > 1)
        {
            var bestRank = int.MaxValue;
            var bestIndex = -1;
            for (var i = 0; i < symbols.Count - 1; i++)
            {
                if (_mergeRanks.TryGetValue((symbols[i], symbols[i + 1]), out var rank) && rank < bestRank)
                {
                    bestRank = rank;
                    bestIndex = i;
                }
            }
            if (bestIndex < 0)
            {
                break;
            }
            var (left, right) = (symbols[bestIndex], symbols[bestIndex + 1]);
            var merged = new List<string>(symbols.Count);
            for (var i = 0; i < symbols.Count; i++)
            {
                if (i < symbols.Count - 1 && symbols[i] == left && symbols[i + 1] == right)
                {
                    merged.Add(left + right);
                    i++;
                }
                else
                {
                    merged.Add(symbols[i]);
                }
            }
            symbols = merged;
        }
        return symbols;
    }

    /// <summary>Loads <c>tokenizer.json</c> (HF tokenizers format, BPE model, merges as "a b" strings or pairs).</summary>
    public static ClipTokenizer FromTokenizerJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        if (!root.TryGetProperty("model", out var model) || model.GetProperty("type").GetString() != "BPE")
        {
            throw new ModelException($"{path}: expected a BPE tokenizer (model.type \"BPE\") as published for OWL-ViT/OWLv2");
        }
        if (model.TryGetProperty("end_of_word_suffix", out var suffix) && suffix.ValueKind == JsonValueKind.String && suffix.GetString() != EndOfWord)
        {
            throw new ModelException($"{path}: expected CLIP's end_of_word_suffix \"{EndOfWord}\", found \"{suffix.GetString()}\"");
        }
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in model.GetProperty("vocab").EnumerateObject())
        {
            vocab[p.Name] = p.Value.GetInt32();
        }
        var merges = new List<(string, string)>();
        foreach (var m in model.GetProperty("merges").EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.String)
            {
                var s = m.GetString()!;
                var space = s.IndexOf(' ', StringComparison.Ordinal);
                merges.Add((s[..space], s[(space + 1)..]));
            }
            else
            {
                merges.Add((m[0].GetString()!, m[1].GetString()!));
            }
        }
        var addedTokens = new List<(string, int)>();
        if (root.TryGetProperty("added_tokens", out var added))
        {
            foreach (var t in added.EnumerateArray())
            {
                var content = t.GetProperty("content").GetString()!;
                var id = t.GetProperty("id").GetInt32();
                vocab[content] = id;
                if (content is not (StartToken or EndToken))
                {
                    addedTokens.Add((content, id));
                }
            }
        }
        if (!vocab.TryGetValue(StartToken, out var start) || !vocab.TryGetValue(EndToken, out var end))
        {
            throw new ModelException($"{path}: missing CLIP special tokens {StartToken} / {EndToken}");
        }
        var pad = vocab.TryGetValue("!", out var bang) ? bang : 0;
        return new ClipTokenizer(vocab, merges, start, end, pad, addedTokens);
    }

    /// <summary>GPT-2/CLIP's reversible byte → printable character table.</summary>
    public static string[] BuildByteToUnicode()
    {
        var bs = new List<int>();
        for (var b = '!'; b <= '~'; b++) { bs.Add(b); }
        for (var b = '¡'; b <= '¬'; b++) { bs.Add(b); }
        for (var b = '®'; b <= 'ÿ'; b++) { bs.Add(b); }
        var cs = new List<int>(bs);
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            if (!bs.Contains(b))
            {
                bs.Add(b);
                cs.Add(256 + n);
                n++;
            }
        }
        var table = new string[256];
        for (var i = 0; i < bs.Count; i++)
        {
            table[bs[i]] = char.ConvertFromUtf32(cs[i]);
        }
        return table;
    }

    /// <summary>Byte values in CLIP vocabulary order (the order of <see cref="BuildByteToUnicode"/>'s construction).</summary>
    public static IEnumerable<int> BytesInVocabularyOrder()
    {
        var bs = new List<int>();
        for (var b = '!'; b <= '~'; b++) { bs.Add(b); }
        for (var b = '¡'; b <= '¬'; b++) { bs.Add(b); }
        for (var b = '®'; b <= 'ÿ'; b++) { bs.Add(b); }
        for (var b = 0; b < 256; b++)
        {
            if (!bs.Contains(b)) { bs.Add(b); }
        }
        return bs;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRegex();

    [GeneratedRegex(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", RegexOptions.IgnoreCase)]
    private static partial Regex PreTokenizerRegex();
}

using System.Text;
using System.Text.Json;

namespace Owlbox.Models.Text;

/// <summary>
/// CLIP's byte-level BPE as the HF fast tokenizer runs it for OWL-ViT/OWLv2: added tokens split out; NFC (ICU4N),
/// whitespace collapsed, lower case per code point; split on CLIP's pattern over code points
/// (<see cref="ClipPreTokenizer"/>); bytes mapped to printable characters; BPE with a <c>&lt;/w&gt;</c> end-of-word
/// suffix; BOS and EOS around. Loaded from the published <c>tokenizer.json</c>. Ids equal HF <c>tokenizers</c>' on a
/// corpus of every kind of text (<c>ClipTokenizerParityTests</c>).
/// </summary>
public sealed class ClipTokenizer
{
    public const string StartToken = "<|startoftext|>";
    public const string EndToken = "<|endoftext|>";
    private const string EndOfWord = "</w>";

    private static readonly string[] s_byteToChar = BuildByteToUnicode();
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(string, string), int> _mergeRanks;
    private readonly Dictionary<string, int[]> _wordCache = new(StringComparer.Ordinal);
    private readonly Lock _cacheLock = new();

    private static readonly ICU4N.Text.Normalizer2 s_nfc = ICU4N.Text.Normalizer2.NFCInstance;

    /// <summary>Added tokens matched in the raw text, and those matched after normalisation (HF's <c>normalized</c> flag).</summary>
    private readonly (string Content, int Id)[] _rawTokens;
    private readonly (string Content, int Id)[] _normalizedTokens;

    /// <param name="addedTokens">Tokens matched verbatim before BPE: OWL's tokenizer adds "!" as id 0 (matched in the raw
    /// text) and the special tokens (matched in the normalised text, so a prompt's literal <c>&lt;|endoftext|&gt;</c> is EOS,
    /// as in HF; the prompt grammar refuses such text).</param>
    public ClipTokenizer(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, int startId, int endId, int padId,
        IReadOnlyList<(string Content, int Id, bool Normalized)>? addedTokens = null)
    {
        _vocab = vocab;
        var added = (addedTokens ?? []).Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ToArray();
        _rawTokens = added.Where(t => !t.Normalized).Select(t => (t.Content, t.Id)).ToArray();
        _normalizedTokens = added.Where(t => t.Normalized).Select(t => (t.Content, t.Id)).ToArray();
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

    /// <summary>Tokens of <paramref name="text"/> with BOS and EOS, not truncated. As HF's tokenizer: added tokens not
    /// normalised ("!") are split out of the raw text, the rest is normalised (NFC, whitespace runs to one space, lower
    /// case per code point with Unicode's unconditional special casing), normalised added tokens (the special-token
    /// texts) are split out of that, and each remaining piece is pre-tokenised and BPE-encoded.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int> { StartId };
        foreach (var (raw, rawId) in SplitOnAddedTokens(text, _rawTokens))
        {
            if (rawId is { } r)
            {
                ids.Add(r);
                continue;
            }
            foreach (var (piece, id) in SplitOnAddedTokens(Normalize(raw), _normalizedTokens))
            {
                if (id is { } t)
                {
                    ids.Add(t);
                }
                else
                {
                    foreach (var word in ClipPreTokenizer.Split(piece))
                    {
                        ids.AddRange(EncodeWord(word));
                    }
                }
            }
        }
        ids.Add(EndId);
        return ids.ToArray();
    }

    /// <summary>The text around each added token (leftmost, longest first), and the tokens' ids.</summary>
    private static IEnumerable<(string Text, int? Id)> SplitOnAddedTokens(string text, (string Content, int Id)[] tokens)
    {
        var start = 0;
        for (var i = 0; i < text.Length && tokens.Length > 0; i++)
        {
            foreach (var (content, id) in tokens)
            {
                if (string.CompareOrdinal(text, i, content, 0, content.Length) == 0)
                {
                    if (i > start)
                    {
                        yield return (text[start..i], null);
                    }
                    yield return (content, id);
                    i += content.Length - 1;
                    start = i + 1;
                    break;
                }
            }
        }
        if (start < text.Length)
        {
            yield return (text[start..], null);
        }
    }

    /// <summary>CLIP's normaliser: NFC, every run of white space to one space, lower case.</summary>
    public static string Normalize(string text)
    {
        // ICU's NFC: .NET's invariant globalization mode (on for the product) makes string.Normalize a no-op.
        var nfc = s_nfc.Normalize(text);
        var result = new StringBuilder(nfc.Length);
        var inSpace = false;
        foreach (var rune in nfc.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune))
            {
                if (!inSpace)
                {
                    result.Append(' ');
                }
                inSpace = true;
                continue;
            }
            inSpace = false;
            if (rune.Value == 0x130)
            {
                result.Append("i\u0307"); // İ: SpecialCasing's unconditional lower case, as Rust's char::to_lowercase
            }
            else
            {
                result.Append(Rune.ToLowerInvariant(rune).ToString());
            }
        }
        return result.ToString();
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
    /// <exception cref="ModelException">The file is not JSON, or not laid out as a tokenizer.json: named, in words.</exception>
    public static ClipTokenizer FromTokenizerJson(string path)
    {
        ModelReads.Record("tokenizer.json", Path.GetDirectoryName(Path.GetFullPath(path))!);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new ModelException($"{path} is not valid JSON ({e.Message}); expected the tokenizer.json published with the model", e);
        }
        using (doc)
        {
            try
            {
                return Read(path, doc.RootElement);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException or IndexOutOfRangeException)
            {
                // A field missing or of another kind (JsonElement's accessors throw these): the file, not the code, is wrong.
                throw new ModelException($"{path} is not laid out as a Hugging Face tokenizer.json (model.vocab, model.merges, added_tokens): {e.Message}", e);
            }
        }
    }

    private static ClipTokenizer Read(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.GetProperty("type").GetString() != "BPE")
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
        var addedTokens = new List<(string, int, bool)>();
        if (root.TryGetProperty("added_tokens", out var added))
        {
            foreach (var t in added.EnumerateArray())
            {
                var content = t.GetProperty("content").GetString()!;
                var id = t.GetProperty("id").GetInt32();
                vocab[content] = id;
                // HF's default for a special token is not normalised; CLIP's files say normalised for BOS and EOS.
                addedTokens.Add((content, id, t.TryGetProperty("normalized", out var n) && n.ValueKind == JsonValueKind.True));
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

}

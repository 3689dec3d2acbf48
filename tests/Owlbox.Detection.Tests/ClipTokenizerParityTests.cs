using System.Text.Json;
using Owlbox.Models.Text;

namespace Owlbox.Detection.Tests;

/// <summary>
/// The tokenizer against Hugging Face's own (Rust) <c>tokenizers</c> on the real CLIP vocabulary: every text of
/// <c>tools/tokenizer-parity/corpus.json</c> (plain, punctuation, numbers, whitespace variants, accents NFC and NFD,
/// other scripts, CJK, emoji, astral letters, special-token text, long prompts) must give exactly the ids the reference
/// gave (<c>Fixtures/clip-tokenizer/parity.json</c>, written by <c>tools/tokenizer-parity/reference.mjs</c>).
/// </summary>
public class ClipTokenizerParityTests
{
    private static readonly string s_fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "clip-tokenizer");

    [Fact]
    public void EveryCorpusText_GivesTheReferenceIds()
    {
        var tokenizer = ClipTokenizer.FromTokenizerJson(Path.Combine(s_fixtures, "tokenizer.json"));
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_fixtures, "parity.json")));
        var cases = reference.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (Text: c.GetProperty("text").GetString()!, Ids: c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))
            .ToArray();
        Assert.True(cases.Length >= 80, $"the corpus holds {cases.Length} texts");

        var mismatches = cases
            .Select(c => (c.Text, c.Ids, Ours: tokenizer.Encode(c.Text)))
            .Where(c => !c.Ids.SequenceEqual(c.Ours))
            .Select(c => $"{JsonSerializer.Serialize(c.Text)}: reference [{string.Join(',', c.Ids)}], ours [{string.Join(',', c.Ours)}]")
            .ToArray();

        Assert.True(mismatches.Length == 0, $"{mismatches.Length} of {cases.Length} differ:\n" + string.Join('\n', mismatches));
    }
}

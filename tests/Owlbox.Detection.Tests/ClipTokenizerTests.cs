using Owlbox.Detection.Inference;
using Owlbox.Models;
using Owlbox.Models.Text;

namespace Owlbox.Detection.Tests;

public class ClipTokenizerTests
{
    private static readonly ClipTokenizer s_tokenizer = ClipTokenizer.FromTokenizerJson(Path.Combine(TestSupport.ModelDir("owlvit-test"), "tokenizer.json"));

    [Fact]
    public void Encode_WrapsInStartAndEnd_AndLowercases()
    {
        var upper = s_tokenizer.Encode("RED Square");
        var lower = s_tokenizer.Encode("red   square");

        Assert.Equal(lower, upper);
        Assert.Equal(s_tokenizer.StartId, upper[0]);
        Assert.Equal(s_tokenizer.EndId, upper[^1]);
        Assert.Equal(4, upper.Length); // red</w>, square</w>
    }

    [Fact]
    public void Encode_ByteFallback_CoversAnyText()
    {
        var ids = s_tokenizer.Encode("zebra-crossing 42 ünïcödé 🦉");

        Assert.True(ids.Length > 10);
        Assert.DoesNotContain(-1, ids);
        Assert.All(ids[1..^1], id => Assert.NotEqual(s_tokenizer.EndId, id));
    }

    [Fact]
    public void Encode_PadTokenIsTheExclamationMarkWithIdZero()
    {
        // As in the published OWL tokenizer: "!" is id 0, the pad id.
        Assert.Equal(0, s_tokenizer.PadId);
        Assert.Equal([s_tokenizer.StartId, 0, 0, s_tokenizer.EndId], s_tokenizer.Encode("!!"));
    }

    [Fact]
    public void Encode_Truncation_KeepsEndTokenLast()
    {
        var text = string.Join(' ', Enumerable.Repeat("red", 30));

        var ids = s_tokenizer.Encode(text, 16);

        Assert.Equal(16, ids.Length);
        Assert.Equal(s_tokenizer.EndId, ids[^1]);
        Assert.Equal(s_tokenizer.StartId, ids[0]);
    }

    [Fact]
    public void PrepareQueries_PadsWithIdZeroAndMaskZero()
    {
        using var detector = new OwlDetector(ModelDirectory.Load(TestSupport.ModelDir("owlvit-test")), new DetectorOptions { ExecutionProvider = "cpu" });

        var q = detector.PrepareQueries(["red", "a big red square"]);

        Assert.Equal(2, q.Count);
        Assert.Equal(6, q.Length);
        Assert.Equal([1L, 1, 1, 0, 0, 0], q.AttentionMask[..6]);
        Assert.Equal([0L, 0, 0], q.InputIds[3..6]);
        Assert.All(q.AttentionMask[6..], m => Assert.Equal(1L, m));
    }
}

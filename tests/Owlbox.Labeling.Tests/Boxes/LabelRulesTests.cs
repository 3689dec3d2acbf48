using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Tests.Boxes;

/// <summary>The one label rule the importers and exporters share (attack F9/F10): a label a YOLO classes.txt, a VOC XML
/// file and a COCO file can each hold as one line of text.</summary>
public class LabelRulesTests
{
    [Theory]
    [InlineData("cat", null)]
    [InlineData("red square, 0.1", null)]
    [InlineData("chat noir (été)", null)]
    [InlineData("", "the label is empty")]
    [InlineData("   ", "is only blanks")]
    [InlineData("ca\nt", "'ca\\nt' holds a control character or line break")]
    [InlineData("ca\rt", "'ca\\rt' holds a control character")]
    [InlineData("ca\tt", "'ca\\tt' holds a control character")]
    [InlineData("x\0y", "'x\\0y' holds a control character")]
    [InlineData("a\u2028b", "'a\\u2028b' holds a control character or line break")]
    [InlineData("a\u0085b", "'a\\u0085b' holds")]
    public void Problem_NamesWhatIsWrong_OrNothing(string label, string? expected)
    {
        var problem = LabelRules.Problem(label);

        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.NotNull(problem);
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Problem_RefusesALabelOverTheLimit_AndAcceptsOneAtIt()
    {
        Assert.Null(LabelRules.Problem(new string('a', LabelRules.MaxLength)));
        Assert.Contains("257 characters long", LabelRules.Problem(new string('a', LabelRules.MaxLength + 1)), StringComparison.Ordinal);
    }

    [Fact]
    public void BoxRules_RefusesABoxWhoseLabelBreaksTheRule()
    {
        Assert.Null(BoxRules.Create("ca\nt", 1.0, 2.0, 3.0, 4.0, out var problem));
        Assert.Contains("control character", problem, StringComparison.Ordinal);
        Assert.NotNull(BoxRules.Create("cat", 1.0, 2.0, 3.0, 4.0, out _));
    }
}

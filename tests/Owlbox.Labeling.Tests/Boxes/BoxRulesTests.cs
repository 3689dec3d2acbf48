using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Tests.Boxes;

/// <summary>The one rule for a storable box (the labels reader and every importer use it): issue 22, finding 7.</summary>
public class BoxRulesTests
{
    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(2.5, 3)] // half away from zero, as the labels file has always rounded
    [InlineData(-2.5, -3)]
    [InlineData(2147483646.4, 2147483646)]
    [InlineData(-2147483646.4, -2147483646)]
    public void Pixel_RoundsFiniteNumbersWithin32Bits(double value, int expected) => Assert.Equal(expected, BoxRules.Pixel(value));

    [Theory]
    [InlineData(double.NaN)] // was read as 0
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(2147483647.0)] // was saturated to 2^31 - 1
    [InlineData(3e9)]
    [InlineData(-3e9)]
    [InlineData(double.MaxValue)]
    public void Pixel_RefusesWhatIsNotAFinite32BitNumber(double value) => Assert.Null(BoxRules.Pixel(value));

    [Theory]
    [InlineData(0L, 0L, 1L, 1L, null)]
    [InlineData(-5L, -5L, 10L, 10L, null)] // the labels file holds it; whether it is inside its image is Outside's question
    [InlineData(2147483000L, 0L, 647L, 1L, null)] // the right edge is exactly 2^31 - 1
    [InlineData(0L, 0L, 0L, 5L, "positive")]
    [InlineData(0L, 0L, 5L, -3L, "positive")]
    [InlineData(2147483000L, 0L, 2000L, 10L, "right or bottom edge")] // x + width overflowed the old check
    [InlineData(0L, 2147483000L, 10L, 2000L, "right or bottom edge")]
    [InlineData(2147483647L, 0L, 1L, 1L, "beyond")]
    [InlineData(0L, 0L, 3000000000L, 1L, "beyond")] // an importer's xmax - xmin, before it is narrowed
    public void Problem_SaysWhyABoxCannotBeStored(long x, long y, long w, long h, string? expected)
    {
        var problem = BoxRules.Problem(x, y, w, h);

        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(10.0, 10.0, 0.4, 5.0, "positive")] // rounds to a width of 0
    [InlineData(double.NaN, 1.0, 5.0, 5.0, "not a finite number")]
    [InlineData(1.0, double.PositiveInfinity, 5.0, 5.0, "not a finite number")]
    [InlineData(3e9, 1.0, 5.0, 5.0, "beyond")]
    [InlineData(1.4, 2.6, 3.5, 4.0, null)]
    public void Create_FromAnImportersNumbers(double x, double y, double w, double h, string? expected)
    {
        var box = BoxRules.Create("a", x, y, w, h, out var problem);

        Assert.Equal(expected is null, box is not null);
        if (expected is null)
        {
            Assert.Equal(new LabeledBox("a", 1, 3, 4, 4), box);
        }
        else
        {
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(10.4, 20.6, 40.5, 60.0, 10, 21, 31, 39)] // each edge rounded, then width = right - left
    [InlineData(10.0, 10.0, 10.2, 20.0, 0, 0, 0, 0)] // a sliver narrower than a pixel: width 0
    [InlineData(50.0, 10.0, 40.0, 20.0, 0, 0, 0, 0)] // right of left: negative width
    [InlineData(-2147483000.0, 0.0, 2147483000.0, 1.0, 0, 0, 0, 0)] // a width of 2^32 - 1300: beyond 32 bits
    public void FromEdges_RoundsEachEdge_AndChecksTheDifferenceBeforeNarrowingIt(double l, double t, double r, double b, int x, int y, int w, int h)
    {
        var box = BoxRules.FromEdges("a", l, t, r, b, out var problem);

        Assert.Equal(w == 0 ? null : new LabeledBox("a", x, y, w, h), box);
        Assert.Equal(w == 0, problem is not null);
    }

    [Theory]
    [InlineData(0, 0, 640, 360, null)]
    [InlineData(600, 10, 100, 10, "reaches outside the 640x360 image")]
    [InlineData(-1, 0, 10, 10, "reaches outside")]
    [InlineData(int.MaxValue - 10, 0, 10, 10, "reaches outside")] // the edge in longs: no overflow past the check
    [InlineData(0, 300, 10, 61, "reaches outside")]
    public void Outside_ComparesEdgesInLongs(int x, int y, int w, int h, string? expected)
    {
        var problem = BoxRules.Outside(new LabeledBox("a", x, y, w, h), 640, 360);

        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }
}

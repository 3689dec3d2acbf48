using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Tests.Boxes;

public class BoxGeometryTests
{
    [Fact]
    public void ToPixels_Stretch_ScalesXByWidthAndYByHeight()
    {
        // A box covering the left half and the top quarter of the squashed input.
        var box = BoxGeometry.ToPixels(0.25f, 0.125f, 0.5f, 0.25f, InputLayout.Stretch, 640, 360);

        Assert.Equal(new PixelBox(0, 0, 320, 90), box);
    }

    [Theory]
    [InlineData(640, 360)]
    [InlineData(360, 640)]
    public void ToPixels_PadBottomRight_ScalesBothAxesByTheLongerSide(int w, int h)
    {
        var side = Math.Max(w, h);
        // Normalised to the padded square: a box at (0.1..0.3, 0.2..0.4) of the square.
        var box = BoxGeometry.ToPixels(0.2f, 0.3f, 0.2f, 0.2f, InputLayout.PadBottomRight, w, h);

        Assert.Equal(new PixelBox((int)Math.Round(0.1 * side), (int)Math.Round(0.2 * side), (int)Math.Round(0.3 * side) - (int)Math.Round(0.1 * side), (int)Math.Round(0.4 * side) - (int)Math.Round(0.2 * side)), box);
    }

    [Fact]
    public void ToPixels_BoxInThePadding_IsClampedOrDropped()
    {
        // 640x360 padded to 640x640: y beyond 360/640 = 0.5625 is padding.
        var partly = BoxGeometry.ToPixels(0.5f, 0.55f, 0.2f, 0.1f, InputLayout.PadBottomRight, 640, 360);
        var fully = BoxGeometry.ToPixels(0.5f, 0.8f, 0.2f, 0.1f, InputLayout.PadBottomRight, 640, 360);

        Assert.Equal(new PixelBox(256, 320, 128, 40), partly);
        Assert.Null(fully);
    }

    [Fact]
    public void ToPixels_OutsideTheImage_IsClampedToIntegersInside()
    {
        var box = BoxGeometry.ToPixels(0.95f, 0.05f, 0.3f, 0.3f, InputLayout.Stretch, 101, 99);

        var b = Assert.NotNull(box);
        Assert.True(b.X >= 0 && b.Y >= 0 && b.Right <= 101 && b.Bottom <= 99, b.ToString());
        Assert.Equal(new PixelBox(81, 0, 20, 20), b);
    }

    [Fact]
    public void ToPixels_NaN_DoesNotProduceABox()
    {
        Assert.Null(BoxGeometry.ToPixels(float.NaN, 0.5f, 0.1f, 0.1f, InputLayout.Stretch, 100, 100));
    }

    [Theory]
    [InlineData(0, 0, 10, 10, 0, 0, 10, 10, 1.0)]
    [InlineData(0, 0, 10, 10, 5, 0, 10, 10, 50.0 / 150.0)]
    [InlineData(0, 0, 10, 10, 10, 0, 10, 10, 0.0)]
    [InlineData(0, 0, 10, 10, 2, 2, 5, 5, 25.0 / 100.0)]
    [InlineData(0, 0, 0, 10, 0, 0, 0, 10, 0.0)]
    public void IoU_MatchesHandComputedValues(int ax, int ay, int aw, int ah, int bx, int by, int bw, int bh, double expected)
    {
        var a = new PixelBox(ax, ay, aw, ah);
        var b = new PixelBox(bx, by, bw, bh);

        Assert.Equal(expected, a.IoU(b), 9);
        Assert.Equal(expected, b.IoU(a), 9);
    }
}

namespace Owlbox.Verification.Tests;

public sealed class CropGeometryTests
{
    [Theory]
    // x, y, w, h of the box; image 100x100; padding, min side, max upscale; expected source x, y, w, h and output w, h.
    [InlineData(10, 10, 20, 20, 0, 0, 8, 10, 10, 20, 20, 20, 20)]
    [InlineData(10, 10, 20, 20, 0.1, 0, 8, 8, 8, 24, 24, 24, 24)]
    // Off the top/left edge: clipped, not shifted (the block moved x/y to 0 and kept the size: 0,0,30,20).
    [InlineData(-10, -5, 30, 20, 0, 0, 8, 0, 0, 20, 15, 20, 15)]
    // Off the right/bottom edge: clipped.
    [InlineData(90, 95, 20, 10, 0, 0, 8, 90, 95, 10, 5, 10, 5)]
    // Padding that would leave the image is clipped too.
    [InlineData(0, 0, 50, 50, 0.1, 0, 8, 0, 0, 55, 55, 55, 55)]
    // Fractional boxes round outward: every pixel the box touches is in.
    [InlineData(10.4, 10.6, 5.2, 5.2, 0, 0, 8, 10, 10, 6, 6, 6, 6)]
    // Below the minimum side: upscaled until the shorter side reaches it...
    [InlineData(0, 0, 32, 16, 0, 64, 8, 0, 0, 32, 16, 128, 64)]
    [InlineData(0, 0, 30, 20, 0, 64, 8, 0, 0, 30, 20, 96, 64)]
    // ...but never more than the maximum factor.
    [InlineData(0, 0, 4, 2, 0, 64, 8, 0, 0, 4, 2, 32, 16)]
    // At or above the minimum: sent as cut.
    [InlineData(0, 0, 80, 64, 0, 64, 8, 0, 0, 80, 64, 80, 64)]
    public void Plans_are_clipped_padded_and_upscaled_in_whole_pixels(double x, double y, double w, double h, double padding, int minSide, double maxUp,
        int sx, int sy, int sw, int sh, int ow, int oh)
    {
        var plan = CropGeometry.Plan(new PixelBox(x, y, w, h), 100, 100, new CropOptions { Padding = padding, MinSide = minSide, MaxUpscale = maxUp });
        Assert.Equal(new CropPlan(new PixelRect(sx, sy, sw, sh), ow, oh), plan);
    }

    [Theory]
    [InlineData(-50, -50, 20, 20)]
    [InlineData(100, 10, 20, 20)]
    [InlineData(10, 10, 0, 20)]
    [InlineData(10, 10, 20, -1)]
    [InlineData(double.NaN, 10, 20, 20)]
    [InlineData(10, 10, double.PositiveInfinity, 20)]
    public void A_box_with_no_pixels_inside_the_image_has_no_plan(double x, double y, double w, double h) =>
        Assert.Null(CropGeometry.Plan(new PixelBox(x, y, w, h), 100, 100, new CropOptions { Padding = 0 }));
}

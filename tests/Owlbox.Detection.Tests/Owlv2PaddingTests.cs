using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Models;
using SkiaSharp;

namespace Owlbox.Detection.Tests;

/// <summary>OWLv2 pads a wide image at the bottom: black as current transformers, grey (0.5) as transformers 4.45.2,
/// which the original Edge Impulse block ran. The padding is virtual; these check the values it leaves.</summary>
public class Owlv2PaddingTests
{
    private static readonly OwlModel s_owlv2 = ModelDirectory.Load(TestSupport.ModelDir("owlv2-test"));

    private static float[] Preprocess(Owlv2Padding padding, SKColor colour, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(colour);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var preprocessor = new ImagePreprocessor(s_owlv2, padding);
        using var prepared = ImageDetection.Prepare(png.ToArray(), preprocessor, new DecodeLimits());
        return prepared.Pixels.ToArray();
    }

    [Theory]
    [InlineData(Owlv2Padding.Black, 0.0)]
    [InlineData(Owlv2Padding.Grey, 0.5)]
    public void AWideImage_IsPaddedBelowWithTheChosenColour_AndKeepsItsOwnPixelsAbove(Owlv2Padding padding, double value)
    {
        var s = s_owlv2.ImageSize;
        var pixels = Preprocess(padding, new SKColor(255, 255, 255), 2 * s, s); // the image fills the top half

        for (var c = 0; c < 3; c++)
        {
            var expectedPad = (value - s_owlv2.ImageMean[c]) / s_owlv2.ImageStd[c];
            var expectedImage = (1.0 - s_owlv2.ImageMean[c]) / s_owlv2.ImageStd[c];
            var plane = c * s * s;
            Assert.Equal(expectedPad, pixels[plane + (s - 1) * s + s / 2], 3); // bottom row: padding
            Assert.Equal(expectedImage, pixels[plane + s / 4 * s + s / 2], 3); // a quarter down: the white image
        }
    }

    [Fact]
    public void AtTheEdge_TheImageAndTheGreyPaddingBlend()
    {
        var s = s_owlv2.ImageSize;
        var grey = Preprocess(Owlv2Padding.Grey, new SKColor(0, 0, 0), 2 * s, s + 1); // edge mid-row
        var black = Preprocess(Owlv2Padding.Black, new SKColor(0, 0, 0), 2 * s, s + 1);

        var edge = (s / 2) * s + s / 2; // the row where the black image meets the padding
        Assert.True(grey[edge] > black[edge], $"grey padding must brighten the edge row ({grey[edge]} vs {black[edge]})");
        Assert.Equal(black[edge - 4 * s], grey[edge - 4 * s], 4); // well inside the image nothing changes
    }
}

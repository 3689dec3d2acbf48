using Owlbox.Detection.Imaging;
using Owlbox.Labeling.Boxes;
using Owlbox.ModelTool;
using SkiaSharp;

namespace Owlbox.Detection.Tests;

/// <summary>Every source format a dataset holds becomes the same pixels, in display orientation; bad files fail with
/// a reason a user can act on.</summary>
public class ImageInputTests(TestModelsFixture models) : IClassFixture<TestModelsFixture>
{
    private const InputLayout V2 = InputLayout.PadBottomRight;

    private static (Scene Scene, PixelBox Red) RedScene(int w = 640, int h = 360)
    {
        var scene = new Scene(w, h);
        var red = scene.Cells(V2, 3, 2, 5, 4);
        scene.Add("red", red);
        return (scene, red);
    }

    private static byte[] RgbBytes(Scene scene)
    {
        using var bitmap = scene.Render();
        var rgb = new byte[scene.Width * scene.Height * 3];
        for (var y = 0; y < scene.Height; y++)
        {
            for (var x = 0; x < scene.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                var p = (y * scene.Width + x) * 3;
                (rgb[p], rgb[p + 1], rgb[p + 2]) = (c.Red, c.Green, c.Blue);
            }
        }
        return rgb;
    }

    public static TheoryData<string> Encodings => ["jpeg", "png", "webp", "palette-png", "rgb16-png", "alpha-png"];

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Detect_EveryEncoding_FindsTheObject(string encoding)
    {
        var (scene, red) = RedScene();
        var bytes = encoding switch
        {
            "jpeg" => scene.Encode(SKEncodedImageFormat.Jpeg, 90),
            "png" => scene.Encode(SKEncodedImageFormat.Png),
            "webp" => scene.Encode(SKEncodedImageFormat.Webp, 90),
            "palette-png" => PngWriter.Palette(scene.Width, scene.Height, RgbBytes(scene)),
            "rgb16-png" => PngWriter.Rgb16(scene.Width, scene.Height, RgbBytes(scene)),
            "alpha-png" => AlphaPng(scene),
            _ => throw new ArgumentOutOfRangeException(nameof(encoding)),
        };

        var found = TestSupport.Detect(models.Owlv2, bytes, "red (red, 0.5)");

        GeometryRoundTripTests.AssertSingleBoxOn(found.Select(f => f.Box), red);
    }

    [Fact]
    public void Detect_CmykJpeg_FindsTheObject()
    {
        // Fixtures/make-cmyk.py: an Adobe CMYK JPEG with the red block of RedScene() at (80, 53) 133x107.
        var jpeg = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "cmyk-red-640x360.jpg"));

        var found = TestSupport.Detect(models.Owlv2, jpeg, "red (red, 0.5)");

        GeometryRoundTripTests.AssertSingleBoxOn(found.Select(f => f.Box), new PixelBox(80, 53, 133, 107));
    }

    [Fact]
    public void Decode_Grayscale_GivesEqualChannels()
    {
        var (scene, red) = RedScene(64, 48);
        var rgb = RgbBytes(scene);
        var png = PngWriter.Grayscale(scene.Width, scene.Height, rgb);

        using var image = ImageDecoder.Decode(png);

        Assert.Equal((64, 48), (image.Width, image.Height));
        var pixel = (red.Y + 1) * 64 + red.X + 1;
        var p = pixel * 4;
        var expected = (byte)((rgb[pixel * 3] * 299 + rgb[pixel * 3 + 1] * 587 + rgb[pixel * 3 + 2] * 114) / 1000);
        Assert.NotEqual(rgb[pixel * 3], expected);
        Assert.Equal([expected, expected, expected, 255], image.Rgba[p..(p + 4)].ToArray());
    }

    [Theory]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(3)]
    public void Detect_ExifRotatedJpeg_BoxesAreInTheOrientationAViewerShows(int orientation)
    {
        // Shown upright as 480x640 with a red block near the top-left; stored rotated so a viewer must turn it.
        var shown = new Scene(480, 640);
        var red = shown.Cells(V2, 2, 1, 4, 3);
        shown.Add("red", red);
        using var upright = shown.Render();
        var degrees = orientation switch { 6 => -90, 8 => 90, _ => 180 };
        var (sw, sh) = orientation == 3 ? (480, 640) : (640, 480);
        using var stored = new SKBitmap(new SKImageInfo(sw, sh, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(stored))
        {
            // Rotate the upright picture the opposite way of what orientation N asks a viewer to do.
            canvas.Translate(sw / 2f, sh / 2f);
            canvas.RotateDegrees(degrees);
            canvas.Translate(-480 / 2f, -640 / 2f);
            canvas.DrawBitmap(upright, 0, 0);
        }
        var jpeg = Exif.WithOrientation(Scene.EncodeBitmap(stored, SKEncodedImageFormat.Jpeg, 95), (ushort)orientation);

        var image = ImageDecoder.Decode(jpeg);
        var found = TestSupport.Detect(models.Owlv2, jpeg, "red");

        Assert.Equal((480, 640), (image.Width, image.Height));
        GeometryRoundTripTests.AssertSingleBoxOn(found.Select(f => f.Box), red);
    }

    [Fact]
    public void Decode_Empty_FailsWithReason()
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode([]));
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_NotAnImage_FailsWithReason()
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode("this is a text file, not a picture"u8.ToArray()));
        Assert.Contains("not a supported image", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("png")]
    public void Decode_Truncated_FailsWithReason(string format)
    {
        var (scene, _) = RedScene();
        var full = scene.Encode(format == "jpeg" ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 90);

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(full[..(full.Length / 2)]));

        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_HeaderOnly_FailsWithReason()
    {
        var (scene, _) = RedScene();
        var full = scene.Encode(SKEncodedImageFormat.Png);

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(full[..40]));

        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_DecompressionBomb_IsRejectedBeforeDecoding()
    {
        // A 50,000 x 50,000 PNG header (2.5 gigapixels) over a few bytes of data.
        var bomb = PngWriter.DeclaringSize(50_000, 50_000);

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bomb));

        Assert.Contains("decompression bomb", e.Message, StringComparison.Ordinal);
        Assert.Contains("50000x50000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_AboveConfiguredLimits_IsRejected()
    {
        var (scene, _) = RedScene();
        var png = scene.Encode();

        Assert.Contains("pixel limit", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, new DecodeLimits { MaxPixels = 1000 })).Message, StringComparison.Ordinal);
        Assert.Contains("byte limit", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, new DecodeLimits { MaxFileBytes = 10 })).Message, StringComparison.Ordinal);
    }

    private static byte[] AlphaPng(Scene scene)
    {
        using var bitmap = scene.Render();
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                bitmap.SetPixel(x, y, c.WithAlpha(140));
            }
        }
        return Scene.EncodeBitmap(bitmap, SKEncodedImageFormat.Png);
    }
}

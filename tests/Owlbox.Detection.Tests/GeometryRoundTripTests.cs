using Owlbox.Labeling.Boxes;
using Owlbox.ModelTool;
using SkiaSharp;

namespace Owlbox.Detection.Tests;

/// <summary>Draw an object, detect it with a model that really looks at pixels, and require the box to land on it.
/// Cells are laid out per model type (squashed for OWL-ViT, padded square for OWLv2), so a wrong resize, padding or
/// box scaling moves the detected box off the object.</summary>
public class GeometryRoundTripTests(TestModelsFixture models) : IClassFixture<TestModelsFixture>
{
    public static TheoryData<string, int, int> Cases => new()
    {
        { "owlvit", 640, 360 },
        { "owlvit", 360, 640 },
        { "owlv2", 640, 360 },
        { "owlv2", 360, 640 },
        { "owlvit", 1000, 333 },
        { "owlv2", 333, 1000 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Detect_DrawnObjects_BoxesLandOnThem(string modelType, int width, int height)
    {
        var detector = models.For(modelType);
        var layout = detector.Model.Layout;
        var scene = new Scene(width, height);
        var tall = height > width;
        var red = scene.Cells(layout, 2, 3, 5, 4);
        var blue = tall ? scene.Cells(layout, 1, 12, 4, 3) : scene.Cells(layout, 12, 2, 4, 3);
        scene.Add("red", red).Add("blue", blue);

        var found = TestSupport.Detect(detector, scene.Encode(SKEncodedImageFormat.Png), "red square (red, 0.5)\nblue (blue, 0.5)");

        AssertSingleBoxOn(found.Where(f => f.Label == "red").Select(f => f.Box), red);
        AssertSingleBoxOn(found.Where(f => f.Label == "blue").Select(f => f.Box), blue);
    }

    [Theory]
    [InlineData("owlvit")]
    [InlineData("owlv2")]
    public void Detect_TheOtherModelTypesGeometry_WouldMissTheObject(string modelType)
    {
        // Guards the test itself: scaling boxes with the other layout must fail the IoU bar on a non-square image.
        var detector = models.For(modelType);
        var scene = new Scene(640, 360);
        var red = scene.Cells(detector.Model.Layout, 6, 5, 5, 4);
        scene.Add("red", red);
        var found = Assert.Single(TestSupport.Detect(detector, scene.Encode(), "red"));
        var wrongLayout = detector.Model.Layout == InputLayout.Stretch ? InputLayout.PadBottomRight : InputLayout.Stretch;
        var b = found.Box;
        // Recover the normalised box with the right layout, then map it back with the wrong one.
        var (sx, sy) = detector.Model.Layout == InputLayout.Stretch ? (640.0, 360.0) : (640.0, 640.0);
        var wrong = BoxGeometry.ToPixels((float)((b.X + b.Width / 2.0) / sx), (float)((b.Y + b.Height / 2.0) / sy), (float)(b.Width / sx), (float)(b.Height / sy), wrongLayout, 640, 360);

        Assert.True(found.Box.IoU(red) >= 0.9);
        Assert.True(wrong is null || wrong.Value.IoU(red) < 0.9, $"wrong layout still gave IoU {wrong?.IoU(red)}");
    }

    [Fact]
    public void Detect_ScoresFollowTheColourNotTheWords()
    {
        var scene = new Scene(640, 480);
        scene.Add("green", scene.Cells(InputLayout.PadBottomRight, 3, 3, 4, 4));

        var found = TestSupport.Detect(models.Owlv2, scene.Encode(), "a red thing (red, 0.1)\na green thing (green, 0.1)\na cup (cup, 0.1)");

        var hit = Assert.Single(found);
        Assert.Equal("green", hit.Label);
        Assert.InRange(hit.Score, 0.85f, 0.95f);
    }

    internal static void AssertSingleBoxOn(IEnumerable<PixelBox> boxes, PixelBox drawn)
    {
        var list = boxes.ToList();
        var box = Assert.Single(list);
        var iou = box.IoU(drawn);
        Assert.True(iou >= 0.9, $"detected {box} vs drawn {drawn}: IoU {iou:0.000}");
    }
}

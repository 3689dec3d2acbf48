using System.Text.Json.Nodes;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;
using Owlbox.ModelTool;
using SkiaSharp;

namespace Owlbox.Cli.Tests;

/// <summary>The generated shapes the example tests share (the command's, and the review page's, which link this file).</summary>
public static class ExampleScenes
{
    private const InputLayout V2 = InputLayout.PadBottomRight;

    /// <summary>Six images, a red and a blue square on each, at different places and sizes; the red squares of the
    /// first three carry hand boxes labelled <paramref name="handLabel"/> (none when null).</summary>
    public static (string Folder, Dictionary<string, (PixelBox Red, PixelBox Blue)> Truth) Write(string folder, string? handLabel, Func<PixelBox, PixelBox>? handBox = null)
    {
        var truth = new Dictionary<string, (PixelBox, PixelBox)>();
        (int W, int H, int[] Red, int[] Blue)[] layouts =
        [
            (640, 360, [2, 2, 4, 3], [12, 5, 6, 5]),
            (480, 640, [3, 10, 5, 4], [12, 2, 4, 4]),
            (800, 450, [16, 6, 4, 5], [1, 1, 3, 3]),
            (600, 400, [10, 8, 3, 3], [2, 2, 5, 4]),
            (640, 480, [1, 12, 6, 4], [14, 3, 5, 6]),
            (512, 512, [18, 18, 4, 4], [5, 5, 3, 7]),
        ];
        var boxes = new JsonObject();
        for (var i = 0; i < layouts.Length; i++)
        {
            var (w, h, r, b) = layouts[i];
            var scene = new Scene(w, h);
            var red = scene.Cells(V2, r[0], r[1], r[2], r[3]);
            var blue = scene.Cells(V2, b[0], b[1], b[2], b[3]);
            scene.Add("red", red).Add("blue", blue);
            var file = $"scene{i}-{w}x{h}.png";
            File.WriteAllBytes(Path.Combine(folder, file), scene.Encode(SKEncodedImageFormat.Png));
            truth[file] = (red, blue);
            if (handLabel is not null && i < 3)
            {
                var hand = (handBox ?? (x => x))(red);
                boxes[file] = new JsonArray(new JsonObject { ["label"] = handLabel, ["x"] = hand.X, ["y"] = hand.Y, ["width"] = hand.Width, ["height"] = hand.Height });
            }
        }
        var labels = new JsonObject { ["version"] = 1, ["type"] = "bounding-box-labels", ["boundingBoxes"] = boxes };
        File.WriteAllText(Path.Combine(folder, LabelsFile.FileName), labels.ToJsonString());
        return (folder, truth);
    }
}

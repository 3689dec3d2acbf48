using System.Text.Json;
using System.Text.Json.Nodes;
using Owlbox.Labeling.Boxes;
using SkiaSharp;

namespace Owlbox.ModelTool;

/// <summary>The bundled sample dataset for the README's first command: non-square JPEGs and PNGs laid out on the
/// OWLv2 test model's grid, one EXIF-rotated photo, one image with existing labels, and the ground truth.</summary>
public static class SampleImages
{
    public const string Prompt = """
        red square (red, 0.5)
        green block (green, 0.5)
        a blue thing (blue, 0.5)
        yellow (yellow)
        """;

    public static void Write(string root)
    {
        var dataset = Path.Combine(root, "shapes");
        Directory.CreateDirectory(dataset);
        const InputLayout v2 = InputLayout.PadBottomRight;
        var truth = new JsonObject();

        var wide = new Scene(640, 360);
        wide.Add("red", wide.Cells(v2, 2, 2, 4, 3)).Add("blue", wide.Cells(v2, 12, 5, 6, 5));
        Save(dataset, "wide-640x360.jpg", wide, SKEncodedImageFormat.Jpeg, truth);

        var tall = new Scene(360, 640, background: 96);
        tall.Add("green", tall.Cells(v2, 1, 3, 4, 5)).Add("yellow", tall.Cells(v2, 6, 15, 5, 4));
        Save(dataset, "tall-360x640.png", tall, SKEncodedImageFormat.Png, truth);

        var busy = new Scene(800, 450, background: 160);
        busy.Add("red", busy.Cells(v2, 1, 1, 3, 3)).Add("green", busy.Cells(v2, 8, 2, 5, 4))
            .Add("blue", busy.Cells(v2, 16, 6, 4, 5)).Add("magenta", busy.Cells(v2, 3, 8, 3, 3));
        Save(dataset, "busy-800x450.jpg", busy, SKEncodedImageFormat.Jpeg, truth, ignore: "magenta");

        var labeled = new Scene(600, 400);
        labeled.Add("blue", labeled.Cells(v2, 3, 3, 5, 4)).Add("yellow", labeled.Cells(v2, 13, 8, 4, 4));
        Save(dataset, "labeled-600x400.jpg", labeled, SKEncodedImageFormat.Jpeg, truth);

        // Shown as 480x640 portrait; stored as 640x480 landscape with EXIF orientation 6 (rotate 90° clockwise to view).
        var shown = new Scene(480, 640);
        shown.Add("red", shown.Cells(v2, 2, 2, 4, 4)).Add("green", shown.Cells(v2, 9, 14, 5, 6));
        using (var upright = shown.Render())
        using (var stored = new SKBitmap(new SKImageInfo(640, 480, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            using (var canvas = new SKCanvas(stored))
            {
                canvas.Translate(0, 480);
                canvas.RotateDegrees(-90);
                canvas.DrawBitmap(upright, 0, 0);
            }
            File.WriteAllBytes(Path.Combine(dataset, "rotated-exif6.jpg"), Exif.WithOrientation(Scene.EncodeBitmap(stored, SKEncodedImageFormat.Jpeg), 6));
        }
        truth["rotated-exif6.jpg"] = Truth(shown, null);

        var empty = new Scene(512, 384, background: 200);
        Save(dataset, "empty-512x384.png", empty, SKEncodedImageFormat.Png, truth);

        // Existing labels: "person" survives matching-prompt; the stale "red" box is replaced by the detector's.
        var labels = new JsonObject
        {
            ["version"] = 1,
            ["type"] = "bounding-box-labels",
            ["boundingBoxes"] = new JsonObject
            {
                ["labeled-600x400.jpg"] = new JsonArray(
                    Box("person", 400, 40, 120, 200),
                    Box("red", 10, 10, 50, 50)),
            },
        };
        var indented = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(dataset, "bounding_boxes.labels"), labels.ToJsonString(indented) + "\n");
        File.WriteAllText(Path.Combine(root, "prompt.txt"), Prompt + "\n");
        File.WriteAllText(Path.Combine(root, "shapes-ground-truth.json"), truth.ToJsonString(indented) + "\n");
    }

    private static void Save(string dataset, string name, Scene scene, SKEncodedImageFormat format, JsonObject truth, string? ignore = null)
    {
        File.WriteAllBytes(Path.Combine(dataset, name), scene.Encode(format, 92));
        truth[name] = Truth(scene, ignore);
    }

    private static JsonArray Truth(Scene scene, string? ignore) =>
        new(scene.Objects.Where(o => o.Colour != ignore).Select(o => (JsonNode)Box(o.Colour, o.Box.X, o.Box.Y, o.Box.Width, o.Box.Height)).ToArray());

    private static JsonObject Box(string label, int x, int y, int w, int h) =>
        new() { ["label"] = label, ["x"] = x, ["y"] = y, ["width"] = w, ["height"] = h };
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Owlbox.Cli;
using Owlbox.Labeling.Boxes;
using Owlbox.ModelTool;
using SkiaSharp;

namespace Owlbox.Integration.Tests;

/// <summary>Generated datasets and the one-process run every multi-process result is compared with.</summary>
internal static class Datasets
{
    public const string Prompt = "red (red, 0.5)\ngreen block (green, 0.5)\nblue (blue, 0.5)\nyellow thing (yellow)";

    /// <summary><paramref name="count"/> 320x240 PNGs with one to three coloured blocks on the OWLv2 test model's grid,
    /// the same for a given seed; a third of them already carry a "person" box and a stale "red" one.</summary>
    public static string Create(string directory, int count, int seed = 42)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        string[] colours = ["red", "green", "blue", "yellow"];
        var labels = new JsonObject();
        for (var i = 0; i < count; i++)
        {
            var scene = new Scene(320, 240, background: (byte)random.Next(90, 170));
            var taken = new List<PixelBox>();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                var box = scene.Cells(InputLayout.PadBottomRight, random.Next(0, 19), random.Next(0, 13), random.Next(2, 6), random.Next(2, 5));
                // Keep blocks one cell apart so each is its own object.
                var grown = new PixelBox(box.X - 14, box.Y - 14, box.Width + 28, box.Height + 28);
                if (taken.All(t => t.IoU(grown) == 0))
                {
                    taken.Add(box);
                    scene.Add(colours[random.Next(colours.Length)], box);
                }
            }
            var name = $"img-{i:D3}.png";
            File.WriteAllBytes(Path.Combine(directory, name), scene.Encode(SKEncodedImageFormat.Png));
            if (i % 3 == 0)
            {
                labels[name] = new JsonArray(
                    new JsonObject { ["label"] = "person", ["x"] = 1, ["y"] = 2, ["width"] = 30, ["height"] = 40 },
                    new JsonObject { ["label"] = "red", ["x"] = 5, ["y"] = 5, ["width"] = 9, ["height"] = 9 });
            }
        }
        File.WriteAllText(Path.Combine(directory, "bounding_boxes.labels"),
            new JsonObject { ["version"] = 1, ["type"] = "bounding-box-labels", ["boundingBoxes"] = labels }.ToJsonString());
        return directory;
    }

    public static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
        {
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        }
    }

    /// <summary>The one-process run (every service on the in-memory bus) over a copy of the dataset.</summary>
    public static async Task<Dictionary<string, string>> OneProcessBoxesAsync(string dataset, string deleteExisting)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await OwlboxCli.RunAsync(["label", dataset, "--model", Path.Combine(OwlboxProcess.RepoRoot, "models", "owlv2-test"),
            "--prompt", Prompt.Replace("\n", "\\n", StringComparison.Ordinal), "--delete_existing_bounding_boxes", deleteExisting, "--execution-provider", "cpu"], stdout, stderr);
        Assert.True(exit == OwlboxCli.Ok, $"{stdout}\n{stderr}");
        return BoxesByImage(dataset);
    }

    /// <summary>Each image's box list as compact JSON, for exact comparison.</summary>
    public static Dictionary<string, string> BoxesByImage(string dataset)
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dataset, "bounding_boxes.labels")))!;
        return root["boundingBoxes"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.ToJsonString());
    }

    public static void AssertSameBoxes(Dictionary<string, string> expected, Dictionary<string, string> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (image, boxes) in expected)
        {
            Assert.True(boxes == actual[image], $"{image}: expected {boxes}\nbut got {actual[image]}");
        }
    }

    public static int BoxCount(Dictionary<string, string> boxes, string? except = null) =>
        boxes.Values.Sum(v => JsonNode.Parse(v)!.AsArray().Count(b => b!["label"]!.GetValue<string>() != except));

    public static JsonSerializerOptions Web { get; } = new(JsonSerializerDefaults.Web);
}

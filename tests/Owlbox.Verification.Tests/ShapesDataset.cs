using System.Text.Json;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;
using SkiaSharp;

namespace Owlbox.Verification.Tests;

/// <summary>
/// A local dataset of coloured squares on grey whose boxes are partly right, partly mislabelled and partly on
/// background, plus a box of a label not verified (<c>person</c>); and the truth the crops tell. Only <c>a.png</c> has a
/// blue square, so a model failing on blue crops fails that sample alone.
/// </summary>
public sealed class ShapesDataset : IDisposable
{
    public const string Prompt = "What colour is this square? Answer with one word; say 'background' if there is no square.";

    /// <summary>The options every test passes: the colours, the prompt, the disable word, low detail, quick retries.</summary>
    public static readonly string[] VerifyOptions =
        ["--which-labels", "red,green,blue", "--prompt", Prompt, "--disable-labels", "background", "--image-quality", "low", "--llm-retries", "1", "--llm-timeout", "10"];

    private static readonly (int X, int Y)[] Places = [(20, 20), (120, 20), (220, 20)];
    private static readonly (int X, int Y) Background = (320, 120);

    private static LabeledBox At((int X, int Y) p, string label) => new(label, p.X, p.Y, 60, 60);

    /// <summary>Per image: the square colours at the three places (null: grey), the boxes as labelled, the boxes as the crops say.</summary>
    public static readonly (string File, string?[] Colours, LabeledBox[] Labelled, LabeledBox[] Truth)[] Images =
    [
        ("a.png", ["red", "green", "blue"],
            [At(Places[0], "red"), At(Places[1], "red"), At(Places[2], "blue"), At(Background, "green"), At(Places[0], "person")],
            [At(Places[0], "red"), At(Places[1], "green"), At(Places[2], "blue"), At(Places[0], "person")]),
        ("b.png", ["green", "red", null],
            [At(Places[0], "green"), At(Places[1], "blue"), At(Places[2], "red")],
            [At(Places[0], "green"), At(Places[1], "red")]),
        ("c.png", ["red", "red", "green"],
            [At(Places[0], "red"), At(Places[1], "red"), At(Places[2], "green")],
            [At(Places[0], "red"), At(Places[1], "red"), At(Places[2], "green")]),
        ("d.png", ["green", "green", "red"],
            [At(Places[0], "green"), At(Places[1], "blue"), At(Places[2], "red"), At(Background, "blue")],
            [At(Places[0], "green"), At(Places[1], "green"), At(Places[2], "red")]),
    ];

    /// <summary>Boxes asked about when nothing is cached: every box but the person.</summary>
    public static int AskedBoxes => Images.Sum(i => i.Labelled.Count(b => b.Label != "person"));

    public ShapesDataset()
    {
        Root = Directory.CreateTempSubdirectory("owlbox-shapes-").FullName;
        Folder = Path.Combine(Root, "shapes");
        Directory.CreateDirectory(Folder);
        for (var i = 0; i < Images.Length; i++)
        {
            File.WriteAllBytes(Path.Combine(Folder, Images[i].File), Png(i, Images[i].Colours));
        }
        WriteLabels(Folder, truth: false);
    }

    public string Root { get; }

    public string Folder { get; }

    public string LabelsPath => Path.Combine(Folder, LabelsFile.FileName);

    public IReadOnlyList<LabeledBox> Boxes(string file) => LabelsFile.Load(LabelsPath).GetBoxes(file);

    public IReadOnlyDictionary<string, string>? Metadata(string file) => LabelsFile.Load(LabelsPath).GetMetadata(file);

    /// <summary>A copy of the images labelled as the crops say (the ground truth for eval).</summary>
    public string TruthCopy()
    {
        var folder = Path.Combine(Root, "truth");
        Directory.CreateDirectory(folder);
        foreach (var (file, _, _, _) in Images)
        {
            File.Copy(Path.Combine(Folder, file), Path.Combine(folder, file));
        }
        WriteLabels(folder, truth: true);
        return folder;
    }

    /// <summary>Rewrites the labels with a detector score (as a job writes it) on every box of the files named; the
    /// other files' boxes have none (hand-drawn).</summary>
    public void Scores(params (string File, double Score)[] scores)
    {
        var byFile = Images.ToDictionary(i => i.File, i => scores.Where(s => s.File == i.File).Select(s => (double?)s.Score).FirstOrDefault());
        WriteLabels(Folder, truth: false, byFile);
    }

    private static void WriteLabels(string folder, bool truth, Dictionary<string, double?>? scores = null)
    {
        var boxes = Images.ToDictionary(i => i.File, i => (truth ? i.Truth : i.Labelled)
            .Select(b => new { label = b.Label, x = b.X, y = b.Y, width = b.Width, height = b.Height, score = scores?.GetValueOrDefault(i.File) }).ToArray());
        File.WriteAllText(Path.Combine(folder, LabelsFile.FileName),
            JsonSerializer.Serialize(new { version = 1, type = "bounding-box-labels", boundingBoxes = boxes }));
    }

    /// <summary>Each image's grey and each square's shade differ a little (same colour names), so no two crops are
    /// the same bytes: a crop answered for one box is never a cache hit for another in the same run.</summary>
    private static byte[] Png(int image, string?[] colours)
    {
        using var bitmap = new SKBitmap(400, 200);
        using (var canvas = new SKCanvas(bitmap))
        {
            var grey = (byte)(120 + (8 * image));
            canvas.Clear(new SKColor(grey, grey, grey));
            using var paint = new SKPaint();
            for (var i = 0; i < colours.Length; i++)
            {
                if (colours[i] is { } c)
                {
                    var shade = (byte)(255 - (20 * i) - (5 * image));
                    paint.Color = c switch { "red" => new SKColor(shade, 0, 0), "green" => new SKColor(0, shade, 0), _ => new SKColor(0, 0, shade) };
                    canvas.DrawRect(Places[i].X, Places[i].Y, 60, 60, paint);
                }
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp folder
        }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Owlbox.Datasets;
using Owlbox.Datasets.Formats;
using Owlbox.Datasets.Local;
using Owlbox.Detection.Imaging;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>Exports written as they are read (issue 27): the same bytes as the whole-tree writer, whatever order the
/// labels file lists its images in; a file name two images would share refused by name; image sizes from headers.</summary>
public sealed class FormatsStreamingTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    private static readonly string[] s_inOrder = ["busy-800x450.jpg", "labeled-600x400.jpg", "rotated-exif6.jpg", "wide-640x360.jpg"];
    private static readonly string[] s_outOfOrder = ["wide-640x360.jpg", "labeled-600x400.jpg", "busy-800x450.jpg", "rotated-exif6.jpg"];

    /// <summary>Labels on several images, appended by the writer in the order given (not the dataset's), with a score
    /// and text the JSON encoder escapes.</summary>
    private void Label(params string[] images)
    {
        File.Delete(_ws.LabelsPath);
        foreach (var image in images)
        {
            var n = Array.IndexOf(s_inOrder, image) + 1; // the same boxes whatever the order
            LabelsFile.Update(_ws.LabelsPath, [LabelUpdate.ReplaceBoxes(image, [
                new LabeledBox("café <b>", n, n + 1, 10, 20) { Score = 0.875 / n },
                new LabeledBox("square", 2 * n, 3, 7, 5),
            ])]);
        }
    }

    private async Task<byte[]> ExportCocoAsync(string name)
    {
        var output = Path.Combine(_ws.Root, name);
        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", "coco", "--out", output);
        Assert.True(export.Exit == OwlboxCli.Ok, export.Out + export.Err);
        return File.ReadAllBytes(output);
    }

    private bool FileInImageOrder()
    {
        var images = LocalDataset.List(_ws.Dataset).Samples.Select((s, i) => (s.Id, i)).ToDictionary(p => p.Id, p => p.i);
        return LabelsExport.Scan(_ws.LabelsPath, images).InImageOrder;
    }

    [Fact]
    public async Task CocoExport_IsTheBytesTheWholeTreeWriterWrote()
    {
        Label(s_outOfOrder);

        var written = await ExportCocoAsync("out.json");

        Assert.Equal(WholeTreeCoco(), System.Text.Encoding.UTF8.GetString(written));
    }

    [Fact]
    public async Task CocoExport_OfALabelsFileInAnotherOrder_IsTheSameFile()
    {
        Label(s_inOrder);
        Assert.True(FileInImageOrder());
        var inOrder = await ExportCocoAsync("a.json");
        Label(s_outOfOrder);
        Assert.False(FileInImageOrder());

        var outOfOrder = await ExportCocoAsync("b.json");

        Assert.Equal(inOrder, outOfOrder);
        Assert.Contains("\"image_id\": 6", System.Text.Encoding.UTF8.GetString(outOfOrder), StringComparison.Ordinal); // wide, the last image
    }

    // The same stem crashed the export (ArgumentException from a dictionary); stems differing in case wrote two files
    // that are one on a case-insensitive file system (macOS, Windows, and a copy of the export onto one).
    [Theory]
    [InlineData("yolo", "txt", "wide-640x360.png", "wide-640x360.jpg and wide-640x360.png")]
    [InlineData("voc", "xml", "wide-640x360.png", "wide-640x360.jpg and wide-640x360.png")]
    [InlineData("yolo", "txt", "WIDE-640x360.png", "WIDE-640x360.png and wide-640x360.jpg")]
    [InlineData("voc", "xml", "WIDE-640x360.png", "WIDE-640x360.png and wide-640x360.jpg")]
    public async Task FolderExport_OfTwoImagesWithOneStem_NamesBoth_AndWritesNothing(string format, string extension, string copy, string named)
    {
        File.Copy(Path.Combine(_ws.Dataset, "wide-640x360.jpg"), Path.Combine(_ws.Dataset, copy));
        var output = Path.Combine(_ws.Root, "out");

        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", format, "--out", output);

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Contains($"{named} would both be exported to wide-640x360.{extension}", export.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", export.Err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task YoloExport_IsTheSameFilesInEitherOrder()
    {
        Label(s_inOrder);
        var a = Path.Combine(_ws.Root, "a");
        Assert.Equal(OwlboxCli.Ok, (await Workspace.RunAsync("export", _ws.Dataset, "--format", "yolo", "--out", a)).Exit);
        Label(s_outOfOrder);
        var b = Path.Combine(_ws.Root, "b");
        Assert.Equal(OwlboxCli.Ok, (await Workspace.RunAsync("export", _ws.Dataset, "--format", "yolo", "--out", b)).Exit);

        static string Folder(string path) => string.Join("\n", Directory.GetFiles(path).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileName(f)}:{File.ReadAllText(f)}"));
        Assert.Equal(Folder(a), Folder(b));
        Assert.Equal(7, Directory.GetFiles(b).Length); // a file per image, boxes or not, and classes.txt
        Assert.Equal("", File.ReadAllText(Path.Combine(b, "empty-512x384.txt")));
    }

    [Fact]
    public void ImageSize_FromTheHeader_IsTheDecodedSize_EXIFOrientationApplied()
    {
        foreach (var image in _ws.Images)
        {
            var path = Path.Combine(_ws.Dataset, image);
            using var decoded = ImageDecoder.Decode(File.ReadAllBytes(path));
            using var file = File.OpenRead(path);
            Assert.Equal((decoded.Width, decoded.Height), ImageDecoder.ReadSize(file));
        }
        using var rotated = File.OpenRead(Path.Combine(_ws.Dataset, "rotated-exif6.jpg"));
        var (w, h) = ImageDecoder.ReadSize(rotated);
        Assert.True(h > w); // stored landscape, shown portrait
    }

    [Fact]
    public async Task Import_OntoAnImageCutInItsHeader_NamesIt_AndWritesNothing()
    {
        Label(s_inOrder);
        var coco = Path.Combine(_ws.Root, "in.json");
        Assert.Equal(OwlboxCli.Ok, (await Workspace.RunAsync("export", _ws.Dataset, "--format", "coco", "--out", coco)).Exit);
        var before = File.ReadAllBytes(_ws.LabelsPath);
        var busy = Path.Combine(_ws.Dataset, "busy-800x450.jpg");
        File.WriteAllBytes(busy, File.ReadAllBytes(busy)[..40]);

        var import = await Workspace.RunAsync("import", coco, "--format", "coco", "--out", _ws.Dataset);

        Assert.Equal(OwlboxCli.SetupError, import.Exit);
        Assert.Contains("image busy-800x450.jpg cannot be read", import.Err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_ws.LabelsPath));
    }

    [Fact]
    public void ImageSize_OfAnImageCutAfterItsHeader_IsRead_WhileDecodingFails()
    {
        var bytes = File.ReadAllBytes(Path.Combine(_ws.Dataset, "busy-800x450.jpg"));
        var cut = bytes[..(bytes.Length / 2)];

        Assert.Equal((800, 450), ImageDecoder.ReadSize(new MemoryStream(cut)));
        Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(cut));
    }

    /// <summary>The COCO file as the export wrote it before it streamed: every image's boxes into a JSON tree.</summary>
    private string WholeTreeCoco()
    {
        var labels = LabelsFile.Load(_ws.LabelsPath);
        var images = _ws.Images.Select(i =>
        {
            using var d = ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(_ws.Dataset, i)));
            return (Name: i, d.Width, d.Height, Boxes: labels.GetBoxes(i));
        }).ToArray();
        var classes = images.SelectMany(m => m.Boxes).Select(b => b.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var annotations = new JsonArray();
        var id = 0;
        for (var i = 0; i < images.Length; i++)
        {
            foreach (var b in images[i].Boxes)
            {
                var annotation = new JsonObject
                {
                    ["id"] = ++id,
                    ["image_id"] = i + 1,
                    ["category_id"] = classes.IndexOf(b.Label) + 1,
                    ["bbox"] = new JsonArray(b.X, b.Y, b.Width, b.Height),
                    ["area"] = (long)b.Width * b.Height,
                    ["iscrowd"] = 0,
                };
                if (b.Score is { } score)
                {
                    annotation["score"] = score;
                }
                annotations.Add(annotation);
            }
        }
        return new JsonObject
        {
            ["images"] = new JsonArray([.. images.Select((m, i) => (JsonNode)new JsonObject { ["id"] = i + 1, ["file_name"] = m.Name, ["width"] = m.Width, ["height"] = m.Height })]),
            ["categories"] = new JsonArray([.. classes.Select((c, i) => (JsonNode)new JsonObject { ["id"] = i + 1, ["name"] = c, ["supercategory"] = "" })]),
            ["annotations"] = annotations,
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}

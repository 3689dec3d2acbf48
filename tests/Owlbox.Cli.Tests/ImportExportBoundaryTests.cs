using System.Diagnostics;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>The import and export boundaries under a careless or hostile user (attack findings F9–F16, F19): an image
/// with a refused box keeps its labels, labels that break a format are refused both ways, an export never replaces a
/// dataset image, a link or a non-file, a stop before the write writes nothing, a wrong folder is said, and every error
/// names its file in words.</summary>
public sealed class ImportExportBoundaryTests : IDisposable
{
    private const string Labeled = "labeled-600x400.jpg"; // holds the bundled dataset's two boxes
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    private Task<(int Exit, string Out, string Err)> ImportAsync(string path, string format) =>
        Workspace.RunAsync("import", path, "--format", format, "--out", _ws.Dataset);

    private string Folder(string name, params (string File, string Text)[] files)
    {
        var folder = Path.Combine(_ws.Root, name);
        Directory.CreateDirectory(folder);
        foreach (var (file, text) in files)
        {
            File.WriteAllText(Path.Combine(folder, file), text);
        }
        return folder;
    }

    private static string Coco(string category, string bbox) =>
        $$"""
        {"images": [{"id": 1, "file_name": "{{Labeled}}", "width": 600, "height": 400}],
         "categories": [{"id": 1, "name": {{System.Text.Json.JsonSerializer.Serialize(category)}}}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": {{bbox}}}]}
        """;

    // F11/F15: an image with any refused box is not written; it keeps its labels, and the report says so.

    [Theory]
    [InlineData("[-10, -10, 20, 20]")] // outside the image
    [InlineData("[10, 10, 0.2, 5]")] // rounds to width 0
    public async Task CocoImport_OfAnImageWhoseOnlyBoxIsRefused_KeepsItsLabels(string bbox)
    {
        var before = File.ReadAllText(_ws.LabelsPath);

        var import = await ImportAsync(_ws.Write("c.json", Coco("cat", bbox)), "coco");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains($"{Labeled}: not imported (1 of 1 boxes refused); its labels are unchanged", import.Out, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_ws.LabelsPath));
    }

    [Fact]
    public async Task YoloImport_OfPredictionsWithAConfidenceColumn_KeepsEveryImagesLabels()
    {
        var before = File.ReadAllText(_ws.LabelsPath);
        var yolo = Folder("yolo", ("classes.txt", "cat\n"), ("labeled-600x400.txt", "0 0.5 0.5 0.1 0.1 0.9\n0 0.2 0.2 0.1 0.1 0.8\n"));

        var import = await ImportAsync(yolo, "yolo");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains($"{Labeled}: not imported (2 of 2 boxes refused); its labels are unchanged", import.Out, StringComparison.Ordinal);
        Assert.Contains("Imported 0 images", import.Out, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_ws.LabelsPath));
    }

    // F9/F10: labels that break a format (line breaks, control characters, NUL, empty, blank) are refused at import...

    [Theory]
    [InlineData("ca\nt", "'ca\\nt' holds a control character")]
    [InlineData("x\0y", "'x\\0y' holds a control character")]
    [InlineData("a\rb", "'a\\rb' holds a control character")]
    [InlineData("", "the label is empty")]
    [InlineData("   ", "is only blanks")]
    public async Task CocoImport_OfALabelThatBreaksAFormat_IsRefused_AndTheImageKeepsItsLabels(string name, string says)
    {
        var before = File.ReadAllText(_ws.LabelsPath);

        var import = await ImportAsync(_ws.Write("c.json", Coco(name, "[10, 10, 20, 20]")), "coco");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains(says, import.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("\0", import.Out, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_ws.LabelsPath));
    }

    [Fact]
    public async Task VocImport_OfALabelWithAControlCharacter_IsRefused()
    {
        var before = File.ReadAllText(_ws.LabelsPath);
        var voc = Folder("voc", ("l.xml", $"<annotation><filename>{Labeled}</filename><object><name>ca&#x9;t</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>"));

        var import = await ImportAsync(voc, "voc");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains("'ca\\tt' holds a control character", import.Out, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_ws.LabelsPath));
    }

    // ...and a dataset that already holds one (written by hand, or by an older import) is not exported.

    [Theory]
    [InlineData("yolo", "ca\nt", "'ca\\nt'")]
    [InlineData("voc", "x\0y", "'x\\0y'")]
    [InlineData("coco", " ", "is only blanks")]
    public async Task Export_OfALabelThatBreaksTheFormat_IsRefused_NamingTheLabelAndImage(string format, string label, string says)
    {
        LabelsFile.Update(_ws.LabelsPath, [LabelUpdate.ReplaceBoxes("wide-640x360.jpg", [new LabeledBox(label, 1, 2, 3, 4)])]);
        var output = Path.Combine(_ws.Root, "out" + (format == "coco" ? ".json" : ""));

        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", format, "--out", output);

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Contains("wide-640x360.jpg: the label", export.Err, StringComparison.Ordinal);
        Assert.Contains(says, export.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", export.Err, StringComparison.Ordinal);
        Assert.False(Path.Exists(output));
    }

    // F13: never over a dataset image, a link, or anything that is not a regular file, even with --force.

    [Fact]
    public async Task Export_OntoAnImageOfTheDataset_IsRefused_EvenForced()
    {
        var image = Path.Combine(_ws.Dataset, "busy-800x450.jpg");
        var bytes = File.ReadAllBytes(image);

        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", "coco", "--out", image, "--force");

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Contains("a file of the dataset folder", export.Err, StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(image));
    }

    [Fact]
    public async Task Export_IntoTheDatasetFolder_OfANewFile_IsAllowed()
    {
        var target = Path.Combine(_ws.Dataset, "labels.coco.json");

        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", "coco", "--out", target);

        Assert.True(export.Exit == OwlboxCli.Ok, export.Out + export.Err);
        Assert.True(File.Exists(target));
    }

    [Fact]
    public async Task Export_OntoALinkToAnotherFile_IsRefused_EvenForced_AndTheLinkStays()
    {
        var mine = _ws.Write("mine.txt", "my notes");
        var link = Path.Combine(_ws.Root, "l.json");
        File.CreateSymbolicLink(link, mine);

        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", "coco", "--out", link, "--force");

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Contains("is a symbolic link", export.Err, StringComparison.Ordinal);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal("my notes", File.ReadAllText(mine));
    }

    [Fact]
    public async Task Export_OntoADanglingLink_IsRefused_InWords()
    {
        var link = Path.Combine(_ws.Root, "dang.json");
        File.CreateSymbolicLink(link, Path.Combine(_ws.Root, "missing", "x.json"));

        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", "coco", "--out", link, "--force");

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Contains($"{link} is a symbolic link", export.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", export.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_OntoANamedPipe_IsRefused_EvenForced()
    {
        var fifo = Path.Combine(_ws.Root, "fifo");
        using (var mkfifo = Process.Start("mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", "coco", "--out", fifo, "--force");

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Contains("is not a regular file", export.Err, StringComparison.Ordinal);
        Assert.Equal(FileKind.Other, FileKinds.Of(fifo));
    }

    [Fact]
    public void FileKinds_TellsAFileALinkAFolderAndNothingApart()
    {
        var file = _ws.Write("f.txt", "x");
        var link = Path.Combine(_ws.Root, "link");
        File.CreateSymbolicLink(link, file);

        Assert.Equal(FileKind.Regular, FileKinds.Of(file));
        Assert.Equal(FileKind.SymbolicLink, FileKinds.Of(link));
        Assert.Equal(FileKind.Directory, FileKinds.Of(_ws.Root));
        Assert.Equal(FileKind.Missing, FileKinds.Of(Path.Combine(_ws.Root, "none")));
        Assert.Equal(FileKind.Missing, FileKinds.Of(Path.Combine(file, "under-a-file")));
    }

    // F19: a stop before the write writes nothing, exit 130.

    [Fact]
    public async Task Import_Stopped_WritesNothing_AndExits130()
    {
        var before = File.ReadAllText(_ws.LabelsPath);
        var coco = _ws.Write("c.json", Coco("cat", "[10, 10, 20, 20]"));

        var import = await Workspace.RunAsync(new CancellationToken(canceled: true), "import", coco, "--format", "coco", "--out", _ws.Dataset);

        Assert.Equal(OwlboxCli.Cancelled, import.Exit);
        Assert.Contains("import stopped on request; nothing was imported", import.Err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_ws.LabelsPath));
    }

    [Fact]
    public async Task Export_Stopped_WritesNothing_AndExits130()
    {
        var output = Path.Combine(_ws.Root, "out.json");

        var export = await Workspace.RunAsync(new CancellationToken(canceled: true), "export", _ws.Dataset, "--format", "coco", "--out", output);

        Assert.Equal(OwlboxCli.Cancelled, export.Exit);
        Assert.Contains("export stopped on request; nothing was written", export.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    // F16: a folder with nothing to read is a wrong path, not an import of nothing.

    [Fact]
    public async Task YoloImport_OfADatasetRoot_SaysToPointAtItsLabelsFolder()
    {
        var root = Folder("yolo-root", ("data.yaml", "names: [cat]\n"));
        Folder(Path.Combine("yolo-root", "labels", "train"), ("labeled-600x400.txt", "0 0.5 0.5 0.1 0.1\n"));
        var before = File.ReadAllText(_ws.LabelsPath);

        var import = await ImportAsync(root, "yolo");

        Assert.Equal(OwlboxCli.SetupError, import.Exit);
        Assert.Contains($"no .txt label files in {root}; for a YOLO dataset root, point at its labels folder, e.g. {Path.Combine(root, "labels", "train")}", import.Err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_ws.LabelsPath));
    }

    [Theory]
    [InlineData("voc", "Annotations", "no .xml annotation files in")]
    [InlineData("voc", null, "no .xml annotation files in")]
    [InlineData("yolo", null, "no .txt label files in")]
    public async Task Import_OfAFolderWithNothingToRead_IsRefused(string format, string? nested, string says)
    {
        var root = Folder("root");
        if (nested is not null)
        {
            Folder(Path.Combine("root", nested), ("a.xml", "<annotation/>"));
        }

        var import = await ImportAsync(root, format);

        Assert.Equal(OwlboxCli.SetupError, import.Exit);
        Assert.Contains(says, import.Err, StringComparison.Ordinal);
        if (nested is not null)
        {
            Assert.Contains(Path.Combine(root, nested), import.Err, StringComparison.Ordinal);
        }
    }

    // F12/F14: errors in words, naming the file.

    [Fact]
    public async Task CocoImport_OfAnEmptyFile_SaysItIsEmpty()
    {
        var empty = _ws.Write("e.json", "");

        var import = await ImportAsync(empty, "coco");

        Assert.Equal(OwlboxCli.SetupError, import.Exit);
        Assert.Contains($"{empty} is empty", import.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("JSON token", import.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_OfADatasetWithAnUndecodableImage_NamesIt()
    {
        File.WriteAllText(Path.Combine(_ws.Dataset, "broken.jpg"), "not an image");
        var output = Path.Combine(_ws.Root, "out.json");

        var export = await Workspace.RunAsync("export", _ws.Dataset, "--format", "coco", "--out", output);

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Contains("image broken.jpg cannot be read", export.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", export.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }
}

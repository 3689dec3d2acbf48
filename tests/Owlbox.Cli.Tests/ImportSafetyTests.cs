using Owlbox.Datasets.Local;

namespace Owlbox.Cli.Tests;

/// <summary>What an import and an export may change (issue 22, findings 4, 7, 8, 12 and 14): an import replaces only the
/// images it names, never writes a box the labels file would refuse, refuses an image named twice, and says what is wrong
/// in words; an export overwrites nothing unless told to, and never the dataset's own files.</summary>
public sealed class ImportSafetyTests : IDisposable
{
    private const string Labeled = "labeled-600x400.jpg"; // holds the bundled dataset's two boxes
    private readonly Workspace _dataset = new();

    public void Dispose() => _dataset.Dispose();

    private string Folder(string name, params (string File, string Text)[] files)
    {
        var folder = Path.Combine(_dataset.Root, name);
        Directory.CreateDirectory(folder);
        foreach (var (file, text) in files)
        {
            File.WriteAllText(Path.Combine(folder, file), text);
        }
        return folder;
    }

    private Task<(int Exit, string Out, string Err)> ImportAsync(string path, string format) =>
        Workspace.RunAsync("import", path, "--format", format, "--out", _dataset.Dataset);

    // Finding 4: the images an import does not name keep their boxes.

    [Fact]
    public async Task YoloImport_OfOneTxtFile_LeavesEveryOtherImageAlone()
    {
        var yolo = Folder("yolo", ("classes.txt", "square\n"), ("wide-640x360.txt", "0 0.5 0.5 0.25 0.5\n"));

        var import = await ImportAsync(yolo, "yolo");

        Assert.True(import.Exit == OwlboxCli.Ok, import.Out + import.Err);
        Assert.Equal(2, _dataset.Boxes(Labeled).Count);
        Assert.Equal([new Owlbox.Labeling.Boxes.LabeledBox("square", 240, 90, 160, 180)], _dataset.Boxes("wide-640x360.jpg"));
        Assert.Contains("Imported 1 images", import.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task YoloImport_WithoutClassesTxt_IsRefused_AndChangesNothing()
    {
        var before = File.ReadAllText(_dataset.LabelsPath);
        var yolo = Folder("yolo", ("wide-640x360.txt", "0 0.5 0.5 0.25 0.5\n"));

        var import = await ImportAsync(yolo, "yolo");

        Assert.Equal(OwlboxCli.SetupError, import.Exit);
        Assert.Contains("classes.txt", import.Err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_dataset.LabelsPath));
    }

    [Fact]
    public async Task YoloImport_OfAnEmptyTxtFile_ClearsThatImage_Only()
    {
        var yolo = Folder("yolo", ("classes.txt", "square\n"), ("labeled-600x400.txt", ""));

        var import = await ImportAsync(yolo, "yolo");

        Assert.True(import.Exit == OwlboxCli.Ok, import.Out + import.Err);
        Assert.Empty(_dataset.Boxes(Labeled));
    }

    [Fact]
    public async Task CocoImport_LeavesImagesItDoesNotList_Alone_AndClearsOneListedWithoutAnnotations()
    {
        await File.WriteAllTextAsync(_dataset.LabelsPath, """
            {"version": 1, "type": "bounding-box-labels", "boundingBoxes": {
              "labeled-600x400.jpg": [{"label": "red", "x": 10, "y": 10, "width": 50, "height": 50}],
              "wide-640x360.jpg": [{"label": "red", "x": 1, "y": 1, "width": 5, "height": 5}]}}
            """);
        var coco = _dataset.Write("one.json", """
            {"images": [{"id": 1, "file_name": "tall-360x640.png", "width": 360, "height": 640},
                        {"id": 2, "file_name": "wide-640x360.jpg", "width": 640, "height": 360}],
             "categories": [{"id": 1, "name": "square"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 20, 30, 40]}]}
            """);

        var import = await ImportAsync(coco, "coco");

        Assert.True(import.Exit == OwlboxCli.Ok, import.Out + import.Err);
        Assert.Single(_dataset.Boxes(Labeled));
        Assert.Empty(_dataset.Boxes("wide-640x360.jpg")); // listed with no annotation: cleared, as the file says
        Assert.Equal([new Owlbox.Labeling.Boxes.LabeledBox("square", 10, 20, 30, 40)], _dataset.Boxes("tall-360x640.png"));
    }

    [Fact]
    public async Task VocImport_OfOneFile_LeavesEveryOtherImageAlone()
    {
        var voc = Folder("voc", ("wide.xml",
            "<annotation><filename>wide-640x360.jpg</filename><size><width>640</width><height>360</height></size>"
            + "<object><name>square</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>60</ymax></bndbox></object></annotation>"));

        var import = await ImportAsync(voc, "voc");

        Assert.True(import.Exit == OwlboxCli.Ok, import.Out + import.Err);
        Assert.Equal(2, _dataset.Boxes(Labeled).Count);
        Assert.Equal([new Owlbox.Labeling.Boxes.LabeledBox("square", 10, 20, 30, 40)], _dataset.Boxes("wide-640x360.jpg"));
    }

    // Finding 7: no box the labels file would refuse is written; every dropped box is listed.

    [Fact]
    public async Task CocoImport_RefusesEveryBoxTheLabelsFileWouldRefuse_ListsEach_AndLeavesThatImageAsItWas()
    {
        var before = _dataset.Boxes("wide-640x360.jpg");
        var coco = _dataset.Write("bad.json", """
            {"images": [{"id": 1, "file_name": "wide-640x360.jpg", "width": 640, "height": 360}],
             "categories": [{"id": 1, "name": "square"}],
             "annotations": [
               {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 0.4, 5]},
               {"id": 2, "image_id": 1, "category_id": 1, "bbox": [3e9, 1, 5, 5]},
               {"id": 3, "image_id": 1, "category_id": 1, "bbox": [20, 20, -3, 4]},
               {"id": 4, "image_id": 1, "category_id": 1, "bbox": [2147483000, 0, 2000, 10]},
               {"id": 5, "image_id": 1, "category_id": 1, "bbox": [1e400, 0, 5, 10]},
               {"id": 6, "image_id": 1, "category_id": 1, "bbox": [600, 10, 100, 10]},
               {"id": 7, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}]}
            """);

        var import = await ImportAsync(coco, "coco");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        for (var i = 0; i < 6; i++)
        {
            Assert.Contains($"annotations[{i}]", import.Out, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("annotations[6]", import.Out, StringComparison.Ordinal);
        Assert.Contains("wide-640x360.jpg: not imported (6 of 7 boxes refused); its labels are unchanged", import.Out, StringComparison.Ordinal);
        Assert.Equal(before, _dataset.Boxes("wide-640x360.jpg")); // the one good box is not written without the others
        Assert.Equal(2, _dataset.Boxes(Labeled).Count); // and the file still reads
    }

    [Fact]
    public async Task YoloImport_RefusesNaNInfinityAndEmptyBoxes_ListsEach_AndLeavesThatImageAsItWas()
    {
        var before = _dataset.Boxes("wide-640x360.jpg");
        var yolo = Folder("yolo", ("classes.txt", "square\n"), ("wide-640x360.txt",
            "0 NaN 0.5 0.1 0.1\n0 0.5 0.5 0 0.1\n0 1e30 0.5 0.1 0.1\n0 0.5 0.5 Infinity 0.1\n0 0.5 0.5 -0.2 0.1\n0 0.5 0.5 0.25 0.5\n"));

        var import = await ImportAsync(yolo, "yolo");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        for (var line = 1; line <= 5; line++)
        {
            Assert.Contains($"wide-640x360.txt line {line}", import.Out, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("line 6", import.Out, StringComparison.Ordinal);
        Assert.Contains("wide-640x360.jpg: not imported (5 of 6 boxes refused); its labels are unchanged", import.Out, StringComparison.Ordinal);
        Assert.Equal(before, _dataset.Boxes("wide-640x360.jpg"));
    }

    [Fact]
    public async Task VocImport_RefusesHugeAndOutsideBoxes_ListsEach_AndLeavesThatImageAsItWas()
    {
        var before = _dataset.Boxes("wide-640x360.jpg");
        var voc = Folder("voc", ("wide.xml",
            "<annotation><filename>wide-640x360.jpg</filename>"
            + "<object><name>square</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>1e12</xmax><ymax>60</ymax></bndbox></object>"
            + "<object><name>square</name><bndbox><xmin>NaN</xmin><ymin>1</ymin><xmax>5</xmax><ymax>60</ymax></bndbox></object>"
            + "<object><name>square</name><bndbox><xmin>2147483000</xmin><ymin>1</ymin><xmax>2147483600</xmax><ymax>60</ymax></bndbox></object>"
            + "<object><name>square</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>60</ymax></bndbox></object></annotation>"));

        var import = await ImportAsync(voc, "voc");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        for (var n = 1; n <= 3; n++)
        {
            Assert.Contains($"wide.xml: object {n}", import.Out, StringComparison.Ordinal);
        }
        Assert.Contains("wide-640x360.jpg: not imported (3 of 4 boxes refused); its labels are unchanged", import.Out, StringComparison.Ordinal);
        Assert.Equal(before, _dataset.Boxes("wide-640x360.jpg"));
    }

    // Finding 8: an image named twice is refused, both sources named, its labels left as they were.

    [Fact]
    public async Task CocoImport_OfAnImageListedTwice_RefusesThatImage()
    {
        var coco = _dataset.Write("twice.json", """
            {"images": [{"id": 1, "file_name": "labeled-600x400.jpg", "width": 600, "height": 400},
                        {"id": 2, "file_name": "labeled-600x400.jpg", "width": 600, "height": 400},
                        {"id": 3, "file_name": "wide-640x360.jpg", "width": 640, "height": 360}],
             "categories": [{"id": 1, "name": "square"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]},
                             {"id": 2, "image_id": 2, "category_id": 1, "bbox": [2, 2, 5, 5]},
                             {"id": 3, "image_id": 3, "category_id": 1, "bbox": [3, 3, 5, 5]}]}
            """);

        var import = await ImportAsync(coco, "coco");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains("images[0] and images[1]", import.Out, StringComparison.Ordinal);
        Assert.Contains("Imported 1 images", import.Out, StringComparison.Ordinal);
        Assert.Equal(2, _dataset.Boxes(Labeled).Count);
        Assert.Single(_dataset.Boxes("wide-640x360.jpg"));
    }

    [Fact]
    public async Task VocImport_OfTwoFilesForOneImage_RefusesThatImage()
    {
        const string Object = "<object><name>square</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>60</ymax></bndbox></object>";
        var voc = Folder("voc",
            ("a.xml", $"<annotation><filename>{Labeled}</filename>{Object}</annotation>"),
            ("b.xml", $"<annotation><filename>{Labeled}</filename></annotation>"));

        var import = await ImportAsync(voc, "voc");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains("a.xml and b.xml", import.Out, StringComparison.Ordinal);
        Assert.Equal(2, _dataset.Boxes(Labeled).Count);
    }

    // Finding 12: a malformed file gets words naming the file and the field, never .NET's exception text.

    [Theory]
    [InlineData("[]", "bad.json: expected a JSON object")]
    [InlineData("""{"images": {}}""", "bad.json: images: expected an array")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 1, "file_name": "b.jpg"}]}""", "bad.json: images[1].id: 1 is images[0]'s id too")]
    [InlineData("""{"images": [{"id": 1}]}""", "bad.json: images[0].file_name: expected a string")]
    [InlineData("""{"images": [null]}""", "bad.json: images[0]: expected an object")]
    [InlineData("""{"images": [{"id": -1.5, "file_name": "a.jpg"}]}""", "bad.json: images[0].id: expected an integer")]
    [InlineData("""{"categories": [{"id": 1}]}""", "bad.json: categories[0].name: expected a string")]
    [InlineData("""{"categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}""", "bad.json: categories[1].id: 1 is categories[0]'s id too")]
    [InlineData("""{"annotations": 3}""", "bad.json: annotations: expected an array")]
    [InlineData("""{"images": [], "images": []}""", "bad.json is not valid JSON")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg", "width": "wide"}]}""", "bad.json: images[0].width: expected")]
    public async Task CocoImport_OfAMalformedFile_SaysWhereInWords_AndWritesNothing(string json, string expected)
    {
        var before = File.ReadAllText(_dataset.LabelsPath);
        var coco = _dataset.Write("bad.json", json);

        var import = await ImportAsync(coco, "coco");

        Assert.Equal(OwlboxCli.SetupError, import.Exit);
        Assert.Contains(expected, import.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", import.Err, StringComparison.Ordinal);
        Assert.Contains("nothing was imported", import.Err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_dataset.LabelsPath));
    }

    [Theory]
    [InlineData("""{"id": 1, "image_id": 1, "category_id": 1, "bbox": "10 10 5 5"}""", "bad.json: annotations[0].bbox: expected an array of 4 numbers")]
    [InlineData("""{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}""", "bad.json: annotations[0].bbox: expected an array of 4 numbers")]
    [InlineData("""{"id": 1, "image_id": 1, "bbox": [1, 2, 3, 4]}""", "bad.json: annotations[0].category_id: expected an integer")]
    [InlineData("""{"id": 1, "image_id": "x", "category_id": 1, "bbox": [1, 2, 3, 4]}""", "bad.json: annotations[0].image_id: expected an integer")]
    [InlineData("""null""", "bad.json: annotations[0]: expected an object")]
    public async Task CocoImport_OfAMalformedAnnotation_DropsThatBox_AndSaysWhere(string annotation, string expected)
    {
        var coco = _dataset.Write("bad.json", $$"""
            {"images": [{"id": 1, "file_name": "wide-640x360.jpg"}], "categories": [{"id": 1, "name": "square"}],
             "annotations": [{{annotation}}]}
            """);

        var import = await ImportAsync(coco, "coco");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains(expected, import.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", import.Out + import.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task YoloImport_OfTwoImagesSharingAStem_RefusesBoth_WithoutDotNetText()
    {
        File.Copy(Path.Combine(_dataset.Dataset, Labeled), Path.Combine(_dataset.Dataset, "labeled-600x400.png"));
        var yolo = Folder("yolo", ("classes.txt", "square\n"), ("labeled-600x400.txt", "0 0.5 0.5 0.1 0.1\n"));

        var import = await ImportAsync(yolo, "yolo");

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains("labeled-600x400.txt matches labeled-600x400.jpg and labeled-600x400.png", import.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("same key", import.Out + import.Err, StringComparison.Ordinal);
        Assert.Equal(2, _dataset.Boxes(Labeled).Count);
    }

    // Finding 14: export --out overwrites nothing it was not told to, and never the dataset's own files.

    [Fact]
    public async Task Export_OntoAnExistingFile_IsRefused_UnlessForced()
    {
        var target = _dataset.Write("mine.json", "my own notes");

        var refused = await Workspace.RunAsync("export", _dataset.Dataset, "--format", "coco", "--out", target);
        Assert.Equal(OwlboxCli.SetupError, refused.Exit);
        Assert.Contains("--force", refused.Err, StringComparison.Ordinal);
        Assert.Equal("my own notes", File.ReadAllText(target));

        var forced = await Workspace.RunAsync("export", _dataset.Dataset, "--format", "coco", "--out", target, "--force");
        Assert.True(forced.Exit == OwlboxCli.Ok, forced.Out + forced.Err);
        Assert.Contains("\"annotations\"", File.ReadAllText(target), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dataset.Root, "*.tmp")); // written beside, renamed over
    }

    [Theory]
    [InlineData("bounding_boxes.labels")]
    [InlineData(".owlbox/export.json")]
    public async Task Export_OntoTheDatasetsOwnFiles_IsRefused_EvenForced(string own)
    {
        var before = File.ReadAllText(_dataset.LabelsPath);
        var target = Path.Combine(_dataset.Dataset, own);

        var export = await Workspace.RunAsync("export", _dataset.Dataset, "--format", "coco", "--out", target, "--force");

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Equal(before, File.ReadAllText(_dataset.LabelsPath));
        Assert.False(File.Exists(Path.Combine(_dataset.Dataset, ".owlbox", "export.json")));
    }

    [Fact]
    public async Task Export_OntoALinkToTheLabelsFile_IsRefused_EvenForced()
    {
        var before = File.ReadAllText(_dataset.LabelsPath);
        var link = Path.Combine(_dataset.Root, "innocent.json");
        File.CreateSymbolicLink(link, _dataset.LabelsPath);

        var export = await Workspace.RunAsync("export", _dataset.Dataset, "--format", "coco", "--out", link, "--force");

        Assert.Equal(OwlboxCli.SetupError, export.Exit);
        Assert.Equal(before, File.ReadAllText(_dataset.LabelsPath));
    }

    [Theory]
    [InlineData("yolo")]
    [InlineData("voc")]
    public async Task Export_IntoAFolderHoldingFilesItWouldWrite_IsRefused_AndWritesNothing(string format)
    {
        var folder = Folder("out", ("classes.txt", "my classes\n"));

        var refused = await Workspace.RunAsync("export", _dataset.Dataset, "--format", format, "--out", folder);

        Assert.Equal(OwlboxCli.SetupError, refused.Exit);
        Assert.Contains("classes.txt", refused.Err, StringComparison.Ordinal);
        Assert.Equal(["classes.txt"], Directory.GetFiles(folder).Select(Path.GetFileName));
        Assert.Equal("my classes\n", File.ReadAllText(Path.Combine(folder, "classes.txt")));

        var forced = await Workspace.RunAsync("export", _dataset.Dataset, "--format", format, "--out", folder, "--force");
        Assert.True(forced.Exit == OwlboxCli.Ok, forced.Out + forced.Err);
        Assert.NotEqual("my classes\n", File.ReadAllText(Path.Combine(folder, "classes.txt")));
    }
}

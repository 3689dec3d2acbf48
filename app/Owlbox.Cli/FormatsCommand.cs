using System.CommandLine;
using Owlbox.Datasets;
using Owlbox.Datasets.Formats;
using Owlbox.Datasets.Local;
using Owlbox.Detection.Imaging;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox export &lt;dataset&gt; --format coco|yolo|voc --out &lt;path&gt; [--force]</c> and
/// <c>owlbox import &lt;path&gt; --format coco|yolo|voc --out &lt;dataset&gt;</c>: a local dataset's labels to and from COCO JSON,
/// YOLO text files or Pascal VOC XML files. Pixels are the labels file's (display orientation, EXIF applied); the class list is kept (sorted
/// on export, as read on import). Odd inputs are listed and the exit code is 2 then; nothing is dropped silently.
/// An import replaces the boxes of exactly the images it names (an image with no label file or entry keeps its boxes),
/// writes only boxes the labels file accepts, with a label <see cref="LabelRules"/> accepts, that lie inside their image
/// (<see cref="BoxRules"/>); an image with any refused box is not written and keeps its labels (<see cref="ImportPlan"/>).
/// It refuses an image named twice, and writes everything in one update through the dataset's locked write path,
/// keeping metadata. An export refuses a dataset label that breaks <see cref="LabelRules"/>, overwrites no existing file
/// unless <c>--force</c>, never the dataset's own files, a link or a non-file (<see cref="ExportTargets"/>), and writes
/// each file whole (a temporary file renamed over the target). A stop (Ctrl+C, SIGTERM) before the write writes nothing
/// (exit 130).
/// </summary>
public static class FormatsCommand
{
    public static Command CreateExport(CliContext io)
    {
        var dataset = CliOptions.Positional("dataset-folder", "the local dataset whose labels are exported");
        var (format, output) = (FormatOption(), OutOption("the COCO file, or the YOLO or VOC folder"));
        var force = CliOptions.Flag("--force", "overwrite existing files (never the dataset's own files, a link or a non-file)");
        var command = new Command("export", "a dataset's labels as COCO JSON, YOLO text files or Pascal VOC XML files") { dataset, format, output, force };
        return command.WithAction((p, cancellationToken) => ExportAsync(p.GetValue(dataset)!, p.GetValue(format)!, p.GetValue(output)!, p.GetValue(force), io.Out, cancellationToken));
    }

    public static Command CreateImport(CliContext io)
    {
        var input = CliOptions.Positional("input", "a COCO file, or a YOLO or VOC folder");
        var (format, output) = (FormatOption(), OutOption("the local dataset whose labels are written"));
        var command = new Command("import", "replaces the boxes of the images it names; an image with a refused box (outside it, unreadable) is listed and keeps its labels") { input, format, output };
        return command.WithAction((p, cancellationToken) => ImportAsync(p.GetValue(input)!, p.GetValue(format)!, p.GetValue(output)!, io.Out, cancellationToken));
    }

    private static Option<string> FormatOption()
    {
        var option = CliOptions.Text("--format", "coco | yolo | voc (required)", "format");
        option.Required = true;
        option.AcceptOnlyFromAmong("coco", "yolo", "voc");
        return option;
    }

    private static Option<string> OutOption(string description)
    {
        var option = CliOptions.Text("--out", description + " (required)", "path");
        option.Required = true;
        return option;
    }

    private static async Task<int> ExportAsync(string source, string format, string output, bool force, TextWriter stdout, CancellationToken cancellationToken)
    {
        var dataset = LocalDataset.List(source);
        LabelJournal.FoldPending(dataset.Directory); // a job's writes still journaled are exported too
        var samples = dataset.Samples;
        var indexOf = new Dictionary<string, int>(samples.Count, StringComparer.Ordinal);
        for (var i = 0; i < samples.Count; i++)
        {
            indexOf.Add(samples[i].Id, i);
        }
        // Two streamed passes over the labels file (LabelsExport): this one checks it and counts; the write reads it again.
        var labels = LabelsExport.Scan(dataset.LabelsPath, indexOf);
        var images = new ExportedImage[samples.Count];
        for (var i = 0; i < samples.Count; i++)
        {
            StopIfAsked(Unexported, cancellationToken);
            var (w, h) = SizeOf(samples[i].FullPath, samples[i].Id);
            // The one label rule (LabelRules): a line break would add a line to classes.txt and shift every class id;
            // a NUL cannot be written as XML. Such a label can only be in the file if written by hand or an old import.
            if (labels.BadLabel is { } bad && bad.Image == i)
            {
                throw new DatasetException($"{LabelRules.Escape(samples[i].Id)}: {bad.Problem}; nothing was exported (fix the label in {LabelsFile.FileName} or remove the box)");
            }
            images[i] = new ExportedImage(samples[i].Id, w, h);
        }
        var classes = labels.Classes;
        string[] paths;
        if (format == "coco")
        {
            if (Directory.Exists(output))
            {
                throw new DatasetException($"--out '{output}' is a folder; a COCO export is one file: name it (for example {Path.Combine(output, "labels.coco.json")})");
            }
            paths = [output];
        }
        else
        {
            if (File.Exists(output))
            {
                throw new DatasetException($"--out '{output}' is a file; a {format.ToUpperInvariant()} export is a folder of files");
            }
            Func<string, string> fileNameOf = format == "yolo" ? YoloFormat.FileNameOf : VocFormat.FileNameOf;
            if (YoloFormat.Collision(samples.Select(s => s.Id), fileNameOf) is { } c)
            {
                throw new DatasetException($"{LabelRules.Escape(c.First)} and {LabelRules.Escape(c.Second)} would both be exported to {LabelRules.Escape(c.File)} "
                    + $"({format.ToUpperInvariant()} names a label file by its image's name without the extension, ignoring case); rename one of the images; nothing was exported");
            }
            paths = [.. samples.Select(s => Path.Combine(output, fileNameOf(s.Id))), Path.Combine(output, YoloFormat.ClassesFile)];
        }
        ExportTargets.Check(paths, force, output, source);
        // The last moment a stop leaves nothing written; after it every file is written whole (each renamed into place).
        StopIfAsked(Unexported, cancellationToken);
        if (format == "coco")
        {
            AtomicFile.Write(output, stream => CocoFormat.Write(stream, images, classes, labels.BoxesInImageOrder()));
        }
        else
        {
            // A file per image as its boxes are read, then one for each image without boxes: nothing held but a flag an image.
            var classIds = YoloFormat.ClassIndex(classes);
            string Text(int image, IReadOnlyList<LabeledBox> boxes) =>
                format == "yolo" ? YoloFormat.Write(images[image], boxes, classIds) : VocFormat.Write(images[image], boxes);
            var written = new bool[images.Length];
            foreach (var (image, boxes) in labels.BoxesAsListed())
            {
                AtomicFile.WriteAllText(paths[image], Text(image, boxes));
                written[image] = true;
            }
            for (var i = 0; i < images.Length; i++)
            {
                if (!written[i])
                {
                    AtomicFile.WriteAllText(paths[i], Text(i, []));
                }
            }
            AtomicFile.WriteAllText(paths[^1], YoloFormat.WriteClasses(classes));
        }
        await stdout.WriteLineAsync($"Exported {images.Length} images, {labels.BoxCount} boxes, {classes.Count} classes to {output}").ConfigureAwait(false);
        return OwlboxCli.Ok;
    }

    private static async Task<int> ImportAsync(string input, string format, string target, TextWriter stdout, CancellationToken cancellationToken)
    {
        var dataset = LocalDataset.Open(target);
        var byName = dataset.Samples.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var sizes = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        (int Width, int Height)? Size(string id)
        {
            if (!byName.TryGetValue(id, out var sample))
            {
                return null;
            }
            if (!sizes.TryGetValue(id, out var size))
            {
                StopIfAsked(Unimported, cancellationToken); // sizes are decoded per image: minutes on a large import
                sizes[id] = size = SizeOf(sample.FullPath, id);
            }
            return size;
        }
        ImportResult result;
        try
        {
            result = format switch
            {
                "coco" => CocoFormat.ReadFile(input),
                "voc" => VocFormat.ReadFolder(input),
                _ => YoloFormat.ReadFolder(input, [.. byName.Keys], id => Size(id)!.Value),
            };
        }
        catch (DatasetException e)
        {
            throw new DatasetException($"{e.Message}; nothing was imported", e);
        }
        // Every box is checked before the one write: nothing the labels file would refuse reaches it.
        var (writes, problems) = ImportPlan.Build(result, Size);
        // Not `result` after the await: the async state machine would hold what was read (10^6 boxes, ~100 MB) through the write.
        var classes = result.Classes.Count;
        // The last moment a stop leaves the labels file as it was: the update below is one locked write.
        StopIfAsked(Unimported, cancellationToken);
        // One streamed write of every image's boxes (LabelsBulkReplace): the replacement an update a sample made
        // (LabelUpdate.ReplaceBoxes), without 10^6 boxes' updates and before/after labels held at once.
        var failed = await new LocalDatasetBackend(target, writeThrough: true)
            .ReplaceBoxesAsync(writes.Select(m => (m.FileName, m.Boxes)).ToArray(), cancellationToken).ConfigureAwait(false);
        var refused = failed.Select(f => f.SampleId).ToHashSet(StringComparer.Ordinal);
        var imported = writes.Where(m => !refused.Contains(m.FileName)).ToArray();
        await stdout.WriteLineAsync($"Imported {imported.Length} images, {imported.Sum(m => m.Boxes.Count)} boxes, {classes} classes into {target}").ConfigureAwait(false);
        problems = [.. problems, .. failed.Select(f => $"{f.SampleId}: not written: {f.Reason}")];
        foreach (var p in problems)
        {
            await stdout.WriteLineAsync("    " + p).ConfigureAwait(false);
        }
        return problems.Count == 0 ? OwlboxCli.Ok : OwlboxCli.SamplesFailed;
    }

    private const string Unimported = "import stopped on request; nothing was imported";
    private const string Unexported = "export stopped on request; nothing was written";

    /// <summary>A stop (Ctrl+C, SIGTERM) is honoured until the write begins, and said in words (exit 130).</summary>
    private static void StopIfAsked(string message, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            throw new CommandStoppedException(message, cancellationToken);
        }
    }

    /// <summary>The image's size as shown (EXIF orientation applied), as the labels file's pixels are.</summary>
    private static (int Width, int Height) SizeOf(string path, string id)
    {
        try
        {
            // The header only (a few KB): decoding every image's pixels just for its size made big imports slow.
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096);
            return ImageDecoder.ReadSize(file);
        }
        catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"image {LabelRules.Escape(id)} cannot be read ({e.Message}); nothing was written", e);
        }
    }
}

using Owlbox.Datasets;
using Owlbox.Datasets.Formats;
using Owlbox.Datasets.Local;
using Owlbox.Detection.Imaging;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox export &lt;dataset&gt; --format coco|yolo|voc --out &lt;path&gt;</c> and
/// <c>owlbox import &lt;path&gt; --format coco|yolo|voc --out &lt;dataset&gt;</c>: a local dataset's labels to and from COCO JSON,
/// YOLO text files or Pascal VOC XML files. Pixels are the labels file's (display orientation, EXIF applied); the class list is kept (sorted
/// on export, as read on import). Odd inputs are listed and the exit code is 2 then; nothing is dropped silently.
/// An import replaces the boxes of the images it names, through the dataset's locked write path, and keeps metadata.
/// </summary>
public static class FormatsCommand
{
    public static async Task<int> ExportAsync(string[] args, TextWriter stdout)
    {
        var (source, format, output) = Read(args, "export <dataset-folder>");
        var dataset = LocalDataset.Open(source);
        var images = dataset.Samples.Select(s =>
        {
            var (w, h) = SizeOf(s.FullPath);
            return new AnnotatedImage(s.Id, w, h, dataset.Labels.GetBoxes(s.Id));
        }).ToArray();
        var classes = images.SelectMany(m => m.Boxes).Select(b => b.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (format == "coco")
        {
            await File.WriteAllTextAsync(output, CocoFormat.Write(images, classes)).ConfigureAwait(false);
        }
        else
        {
            Directory.CreateDirectory(output);
            var (files, classesText) = format == "yolo" ? YoloFormat.Write(images, classes) : (VocFormat.Write(images), string.Concat(classes.Select(c => c + "\n")));
            foreach (var (name, text) in files)
            {
                await File.WriteAllTextAsync(Path.Combine(output, name), text).ConfigureAwait(false);
            }
            await File.WriteAllTextAsync(Path.Combine(output, YoloFormat.ClassesFile), classesText).ConfigureAwait(false);
        }
        await stdout.WriteLineAsync($"Exported {images.Length} images, {images.Sum(m => m.Boxes.Count)} boxes, {classes.Length} classes to {output}").ConfigureAwait(false);
        return OwlboxCli.Ok;
    }

    public static async Task<int> ImportAsync(string[] args, TextWriter stdout, CancellationToken cancellationToken)
    {
        var (input, format, target) = Read(args, "import <coco-file-or-yolo-folder>");
        var dataset = LocalDataset.Open(target);
        ImportResult result;
        if (format == "coco")
        {
            result = CocoFormat.Read(await File.ReadAllTextAsync(input, cancellationToken).ConfigureAwait(false));
        }
        else if (format == "voc")
        {
            var classes = Path.Combine(input, YoloFormat.ClassesFile);
            result = VocFormat.Read(Directory.GetFiles(input, "*.xml").ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal),
                File.Exists(classes) ? await File.ReadAllTextAsync(classes, cancellationToken).ConfigureAwait(false) : null);
            result = result with { Problems = [.. result.Problems, .. SizeMismatches(result.Images, dataset)] };
        }
        else
        {
            var classes = Path.Combine(input, YoloFormat.ClassesFile);
            var files = Directory.GetFiles(input, "*.txt").Where(f => Path.GetFileName(f) != YoloFormat.ClassesFile)
                .ToDictionary(f => Path.GetFileNameWithoutExtension(f), File.ReadAllText, StringComparer.Ordinal);
            result = YoloFormat.Read(files, File.Exists(classes) ? await File.ReadAllTextAsync(classes, cancellationToken).ConfigureAwait(false) : "",
                dataset.Samples.Select(s => SizeOf(s.FullPath) is var (w, h) ? (s.Id, w, h) : default).ToArray());
        }
        var inDataset = dataset.Samples.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var problems = result.Problems.Concat(result.Images.Where(m => !inDataset.Contains(m.FileName))
            .Select(m => $"{m.FileName} is not an image of {target}: its {m.Boxes.Count} boxes are not imported")).ToArray();
        var updates = result.Images.Where(m => inDataset.Contains(m.FileName))
            .Select(m => new LabelUpdate(m.FileName, current => current with { Boxes = m.Boxes })).ToArray();
        await new LocalDatasetBackend(target).UpdateLabelsAsync(updates, cancellationToken).ConfigureAwait(false);
        await stdout.WriteLineAsync($"Imported {updates.Length} images, {result.Images.Where(m => inDataset.Contains(m.FileName)).Sum(m => m.Boxes.Count)} boxes, {result.Classes.Count} classes into {target}").ConfigureAwait(false);
        foreach (var p in problems)
        {
            await stdout.WriteLineAsync("    " + p).ConfigureAwait(false);
        }
        return problems.Length == 0 ? OwlboxCli.Ok : OwlboxCli.SamplesFailed;
    }

    private static (string Path, string Format, string Out) Read(string[] args, string usage)
    {
        var a = new ArgumentReader(args, new HashSet<string>(["--format", "--out"]), new HashSet<string>(), ignoreUnknown: false);
        var format = a.Get("--format");
        if (a.Positionals.Count != 1 || a.Get("--out") is not { } output || format is not ("coco" or "yolo" or "voc"))
        {
            throw new UsageException($"usage: owlbox {usage} --format coco|yolo|voc --out <path>");
        }
        return (a.Positionals[0], format, output);
    }

    /// <summary>A size in the file that is not the image's as shown: most often a file written from the stored pixels of
    /// an EXIF-rotated photo, whose boxes would land rotated. Listed, so the user checks before training on them.</summary>
    private static IEnumerable<string> SizeMismatches(IEnumerable<AnnotatedImage> images, LocalDataset dataset)
    {
        var byName = dataset.Samples.ToDictionary(s => s.Id, StringComparer.Ordinal);
        foreach (var m in images.Where(m => m.Width > 0 && byName.ContainsKey(m.FileName)))
        {
            var (w, h) = SizeOf(byName[m.FileName].FullPath);
            if ((w, h) != (m.Width, m.Height))
            {
                yield return $"{m.FileName}: the file says {m.Width}x{m.Height}, the image is {w}x{h} as shown{((h, w) == (m.Width, m.Height) ? " (rotated by its EXIF orientation: were the boxes drawn on the stored pixels?)" : "")}; boxes imported as written";
            }
        }
    }

    /// <summary>The image's size as shown (EXIF orientation applied), as the labels file's pixels are.</summary>
    private static (int Width, int Height) SizeOf(string path)
    {
        using var image = ImageDecoder.Decode(File.ReadAllBytes(path));
        return (image.Width, image.Height);
    }
}

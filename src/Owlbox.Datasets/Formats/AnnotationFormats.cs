using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Formats;

/// <summary>An image an export names, with its size in display orientation (EXIF applied, as the labels file's pixels are).</summary>
public readonly record struct ExportedImage(string FileName, int Width, int Height);

/// <summary>An image with its size in display orientation (EXIF applied, as the labels file's pixels are) and its boxes.</summary>
public sealed record AnnotatedImage(string FileName, int Width, int Height, IReadOnlyList<LabeledBox> Boxes);

/// <summary>A box an import read, and where it was read (<c>x.json: annotations[3]</c>), for the report should it be
/// dropped later (outside its image).</summary>
public sealed class ImportedBox
{
    private readonly string _source;
    private readonly int _index;
    private readonly string? _between;

    public ImportedBox(LabeledBox box, string source)
        : this(box, source, -1)
    {
    }

    /// <summary>A box read at <c><paramref name="list"/>[<paramref name="index"/>]</c>, or at
    /// <c><paramref name="list"/><paramref name="between"/><paramref name="index"/></c> when
    /// <paramref name="between"/> is given (<c>a.txt line 3</c>): the text is made when asked (rarely: a box outside
    /// its image), not held per box (10^6 COCO annotations' sources are 100+ MB).</summary>
    internal ImportedBox(LabeledBox box, string list, int index, string? between = null)
    {
        Box = box;
        _source = list;
        _index = index;
        _between = between;
    }

    public LabeledBox Box { get; }

    public string Source => _index < 0 ? _source
        : _between is null ? string.Create(CultureInfo.InvariantCulture, $"{_source}[{_index}]")
        : string.Create(CultureInfo.InvariantCulture, $"{_source}{_between}{_index}");
}

/// <summary>An image an import names, with the size its file states (0 when none) and the boxes that replace the
/// image's: an empty list clears it, as the file says. <paramref name="Refused"/> counts the boxes the file gives it that
/// the reader refused (listed in the problems): an image with any is not written (<see cref="ImportPlan"/>).</summary>
public sealed record ImportedImage(string FileName, string Source, int Width, int Height, IReadOnlyList<ImportedBox> Boxes, int Refused = 0);

/// <summary>What an import read: the images it names, the class list, and every odd input it met (reported, not dropped
/// silently). Every box already passes <see cref="BoxRules"/>; a reader throws <see cref="DatasetException"/> only for a
/// file whose structure cannot be read (nothing is imported then), never another exception.</summary>
public sealed record ImportResult(IReadOnlyList<ImportedImage> Images, IReadOnlyList<string> Classes, IReadOnlyList<string> Problems);

/// <summary>An image named by more than one source (two COCO <c>images</c> entries, two VOC files) is refused: the
/// lists may be two versions of one annotation (a merge doubles every box) or differ (keeping one silently loses the
/// other), and only the user knows which is meant. Its labels stay as they were.</summary>
internal static class Duplicates
{
    /// <param name="prefix">Put before the sources in the message (the file every source is part of).</param>
    public static IEnumerable<ImportedImage> Refuse(IEnumerable<ImportedImage> images, List<string> problems, string prefix = "")
    {
        foreach (var group in images.GroupBy(m => m.FileName, StringComparer.Ordinal))
        {
            if (group.Skip(1).Any())
            {
                problems.Add($"{prefix}{string.Join(" and ", group.Select(m => m.Source))} {(group.Count() == 2 ? "both" : "all")} name {group.Key}; that image is not imported (keep one of them and import again)");
                continue;
            }
            yield return group.First();
        }
    }
}

/// <summary>COCO detection JSON: images (id, file_name, width, height), categories (id, name) and annotations with
/// <c>bbox</c> = [x, y, width, height] in pixels. Category ids follow the class list from 1.</summary>
public static class CocoFormat
{
    /// <summary>Writes the COCO file as it comes, through <see cref="Utf8JsonWriter"/>: nothing of it is held. Indented,
    /// with the default encoder, as <c>JsonNode.ToJsonString(WriteIndented)</c> wrote it (the same bytes).</summary>
    /// <param name="images">The dataset's images, in its order: image ids are their positions from 1.</param>
    /// <param name="classes">The class list: category ids are positions from 1.</param>
    /// <param name="boxesInImageOrder">The boxes of each image with any, by image position, in the images' order
    /// (annotation ids count from 1 in it).</param>
    public static void Write(Stream stream, IReadOnlyList<ExportedImage> images, IReadOnlyList<string> classes,
        IEnumerable<(int Image, IReadOnlyList<LabeledBox> Boxes)> boxesInImageOrder)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartArray("images");
        for (var i = 0; i < images.Count; i++)
        {
            json.WriteStartObject();
            json.WriteNumber("id", i + 1);
            json.WriteString("file_name", images[i].FileName);
            json.WriteNumber("width", images[i].Width);
            json.WriteNumber("height", images[i].Height);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("categories");
        for (var i = 0; i < classes.Count; i++)
        {
            json.WriteStartObject();
            json.WriteNumber("id", i + 1);
            json.WriteString("name", classes[i]);
            json.WriteString("supercategory", "");
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("annotations");
        var categoryOf = ClassIndex(classes);
        var id = 0;
        foreach (var (image, boxes) in boxesInImageOrder)
        {
            foreach (var b in boxes)
            {
                json.WriteStartObject();
                json.WriteNumber("id", ++id);
                json.WriteNumber("image_id", image + 1);
                json.WriteNumber("category_id", IndexOf(categoryOf, b.Label) + 1);
                json.WriteStartArray("bbox");
                json.WriteNumberValue(b.X);
                json.WriteNumberValue(b.Y);
                json.WriteNumberValue(b.Width);
                json.WriteNumberValue(b.Height);
                json.WriteEndArray();
                json.WriteNumber("area", (long)b.Width * b.Height);
                json.WriteNumber("iscrowd", 0);
                if (b.Score is { } score)
                {
                    json.WriteNumber("score", score); // as COCO detection results carry it: eval tools read it
                }
                json.WriteEndObject();
                if (json.BytesPending > 64 * 1024)
                {
                    json.Flush();
                }
            }
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>Reads a COCO file (the CLI's and the importer corpus's way in), streamed (<see cref="CocoReader"/>).</summary>
    public static ImportResult ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new DatasetException(Directory.Exists(path) ? $"'{path}' is a folder; a COCO import reads one JSON file" : $"COCO file '{path}' does not exist");
        }
        FileStream stream;
        try
        {
            // No FileStream buffer: the token stream reads 64 KB at a time into its own.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"COCO file '{path}' cannot be read ({e.Message})", e);
        }
        using (stream)
        {
            return CocoReader.Read(stream, path);
        }
    }

    /// <param name="json">The file's text.</param>
    /// <param name="source">The file as the user named it: every message starts with it.</param>
    public static ImportResult Read(string json, string source)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json), writable: false);
        return CocoReader.Read(stream, source);
    }

    internal static Dictionary<string, int> ClassIndex(IReadOnlyList<string> classes) =>
        classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);

    internal static int IndexOf(Dictionary<string, int> classes, string label) =>
        classes.TryGetValue(label, out var i) ? i : throw new DatasetException($"label '{label}' is not in the class list");
}

/// <summary>YOLO text labels: one <c>&lt;stem&gt;.txt</c> per image, lines <c>class cx cy w h</c> normalised to the image
/// size, and <c>classes.txt</c> with a class name per line (the line number is the class id).</summary>
public static class YoloFormat
{
    public const string ClassesFile = "classes.txt";

    /// <summary>The label file an image's boxes go to: its stem, as YOLO tools match them.</summary>
    public static string FileNameOf(string image) => Path.GetFileNameWithoutExtension(image) + ".txt";

    /// <summary>One image's label file.</summary>
    /// <param name="classes">Class id of each label (<see cref="ClassIndex"/>).</param>
    public static string Write(ExportedImage image, IReadOnlyList<LabeledBox> boxes, IReadOnlyDictionary<string, int> classes)
    {
        static string F(double v) => v.ToString("0.0000000", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        foreach (var b in boxes)
        {
            var id = classes.TryGetValue(b.Label, out var i) ? i : throw new DatasetException($"label '{b.Label}' is not in the class list");
            text.Append(CultureInfo.InvariantCulture, $"{id} {F((b.X + b.Width / 2.0) / image.Width)} {F((b.Y + b.Height / 2.0) / image.Height)} {F((double)b.Width / image.Width)} {F((double)b.Height / image.Height)}\n");
        }
        return text.ToString();
    }

    /// <summary>The class file: a name per line, the line number its class id.</summary>
    public static string WriteClasses(IReadOnlyList<string> classes) => string.Concat(classes.Select(c => c + "\n"));

    public static Dictionary<string, int> ClassIndex(IReadOnlyList<string> classes) => CocoFormat.ClassIndex(classes);

    /// <summary>Two images whose label files would have one name (<c>a.jpg</c>, <c>a.png</c>: <c>a.txt</c>): the first such
    /// pair, or null. Names are compared ignoring case, as a case-insensitive file system (and a copy of the export onto
    /// one) would. Refused rather than renamed: YOLO tools find an image's labels by its stem, so another name would
    /// silently leave the image unlabeled.</summary>
    /// <param name="fileNameOf">The label file of an image.</param>
    public static (string First, string Second, string File)? Collision(IEnumerable<string> images, Func<string, string> fileNameOf)
    {
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var image in images)
        {
            var file = fileNameOf(image);
            if (!seen.TryAdd(file, image))
            {
                return (seen[file], image, file);
            }
        }
        return null;
    }

    /// <summary>Reads a folder of <c>&lt;stem&gt;.txt</c> files and its <c>classes.txt</c>.</summary>
    public static ImportResult ReadFolder(string folder, IReadOnlyList<string> imageNames, Func<string, (int Width, int Height)> sizeOf)
    {
        RequireFolder(folder, "YOLO", ".txt");
        var classes = Path.Combine(folder, ClassesFile);
        var labelFiles = Directory.GetFiles(folder, "*.txt").Where(f => Path.GetFileName(f) != ClassesFile).ToArray();
        RequireFiles(folder, labelFiles, ".txt label", "labels", "for a YOLO dataset root, point at its labels folder");
        // Each file is read when it is parsed, not all first: the memory is one file's text, whatever the folder holds.
        var byStem = labelFiles.ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);
        return Read(byStem.Keys, stem => File.ReadAllText(byStem[stem]), File.Exists(classes) ? File.ReadAllText(classes) : null, imageNames, sizeOf, folder);
    }

    internal static void RequireFolder(string folder, string format, string extension)
    {
        if (!Directory.Exists(folder))
        {
            throw new DatasetException($"'{folder}' is not a folder; a {format} import reads a folder of {extension} files");
        }
    }

    /// <summary>A folder with no file to read is a wrong path (a dataset's root rather than its labels folder), not an
    /// import of nothing: said, with the standard layout's folder when there is one.</summary>
    /// <param name="layoutFolder">The standard layout's subfolder that holds the files (<c>labels</c>, <c>Annotations</c>).</param>
    internal static void RequireFiles(string folder, string[] files, string kind, string layoutFolder, string hint)
    {
        if (files.Length > 0)
        {
            return;
        }
        var nested = Path.Combine(folder, layoutFolder);
        var example = Directory.Exists(nested)
            ? Directory.GetDirectories(nested).Order(StringComparer.Ordinal).FirstOrDefault() is { } split && Directory.GetFiles(nested).Length == 0 ? split : nested
            : Path.Combine(nested, layoutFolder == "labels" ? "train" : "");
        throw new DatasetException($"no {kind} files in {folder}; {hint}, e.g. {example.TrimEnd(Path.DirectorySeparatorChar)}; nothing was imported");
    }

    /// <param name="labelFiles">Text of each <c>&lt;stem&gt;.txt</c>, by stem.</param>
    /// <param name="classesText"><c>classes.txt</c>, or null when the folder has none: then a label file with any box
    /// stops the import (its class ids mean nothing).</param>
    /// <param name="imageNames">The dataset's image file names, matched to label files by stem.</param>
    /// <param name="sizeOf">An image's size as shown (the boxes are fractions of it); asked only for images a label file names.</param>
    /// <param name="source">The folder as the user named it, for messages about it as a whole.</param>
    public static ImportResult Read(IReadOnlyDictionary<string, string> labelFiles, string? classesText, IReadOnlyList<string> imageNames,
        Func<string, (int Width, int Height)> sizeOf, string source) =>
        Read(labelFiles.Keys, stem => labelFiles[stem], classesText, imageNames, sizeOf, source);

    /// <param name="stems">The label files, by stem.</param>
    /// <param name="textOf">A label file's text, by stem: read once each, when it is parsed.</param>
    /// <inheritdoc cref="Read(IReadOnlyDictionary{string, string}, string?, IReadOnlyList{string}, Func{string, ValueTuple{int, int}}, string)"/>
    public static ImportResult Read(IEnumerable<string> stems, Func<string, string> textOf, string? classesText, IReadOnlyList<string> imageNames,
        Func<string, (int Width, int Height)> sizeOf, string source)
    {
        var classes = Classes(classesText, source);
        var ordered = stems.Order(StringComparer.Ordinal).ToArray();
        // Without classes.txt the import stops before any image is read (a rare, failing case: read twice then).
        if (classesText is null && ordered.Any(stem => !string.IsNullOrWhiteSpace(textOf(stem))))
        {
            throw new DatasetException($"{source} has no {ClassesFile}: a YOLO class id is a line number of {ClassesFile}, so without it no box can be named");
        }
        var problems = new List<string>();
        var byStem = imageNames.ToLookup(Path.GetFileNameWithoutExtension, StringComparer.Ordinal);
        var result = new List<ImportedImage>();
        foreach (var stem in ordered)
        {
            var file = stem + ".txt";
            var matches = byStem[stem].ToArray();
            if (matches.Length != 1)
            {
                problems.Add(matches.Length == 0
                    ? $"{file} has no image"
                    : $"{file} matches {string.Join(" and ", matches.Order(StringComparer.Ordinal))}; none of them is imported (rename one image)");
                continue;
            }
            var (width, height) = sizeOf(matches[0]);
            var boxes = new List<ImportedBox>();
            var refused = 0;
            var lines = textOf(stem).Split('\n');
            for (var n = 0; n < lines.Length; n++)
            {
                var where = $"{file} line {(n + 1).ToString(CultureInfo.InvariantCulture)}";
                var parts = lines[n].Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0)
                {
                    continue;
                }
                var v = new double[4];
                if (parts.Length != 5 || !parts.Skip(1).Select((p, i) => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out v[i])).All(ok => ok))
                {
                    problems.Add($"{where}: '{Shorten(lines[n].Trim())}' is not 'class cx cy w h'; not imported");
                    refused++;
                    continue;
                }
                if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var cls) || cls >= classes.Length)
                {
                    problems.Add($"{where}: class '{Shorten(parts[0])}' is not a line of {ClassesFile} (0 to {(classes.Length - 1).ToString(CultureInfo.InvariantCulture)}); not imported");
                    refused++;
                    continue;
                }
                var (cx, cy, w, h) = (v[0] * width, v[1] * height, v[2] * width, v[3] * height);
                if (BoxRules.FromEdges(classes[cls], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, out var problem) is not { } box)
                {
                    problems.Add($"{where} (image {matches[0]}): {problem}; not imported");
                    refused++;
                    continue;
                }
                boxes.Add(new ImportedBox(box, file, n + 1, " line "));
            }
            result.Add(new ImportedImage(matches[0], file, width, height, boxes, refused));
        }
        return new ImportResult(result, classes, problems);
    }

    /// <summary>The class list: the line number is the class id, so a blank line before the last name is refused
    /// (dropping it would shift every later id onto another class).</summary>
    internal static string[] Classes(string? text, string source)
    {
        var lines = (text ?? "").Split('\n').Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        var blank = lines.FindIndex(l => l.Length == 0);
        return blank < 0 ? [.. lines]
            : throw new DatasetException($"{Path.Combine(source, ClassesFile)} line {(blank + 1).ToString(CultureInfo.InvariantCulture)} is empty: class ids are line numbers, so every line up to the last must name a class");
    }

    internal static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "...";
}

/// <summary>
/// Pascal VOC XML: one <c>&lt;stem&gt;.xml</c> per image (<c>filename</c>, <c>size</c>, an <c>object</c> per box with
/// <c>name</c> and <c>bndbox</c>), and <c>classes.txt</c> beside them to keep the class list (VOC has none of its own).
/// Coordinates follow the VOC devkit: 1-based and inclusive, so a box at x with width w is <c>xmin = x + 1</c>,
/// <c>xmax = x + w</c> (detectron2 and torchvision's VOC readers subtract the 1 again). DTDs are refused on read.
/// </summary>
public static class VocFormat
{
    /// <summary>The annotation file an image's boxes go to: its stem, as VOC's layout names them.</summary>
    public static string FileNameOf(string image) => Path.GetFileNameWithoutExtension(image) + ".xml";

    /// <summary>One image's annotation file.</summary>
    public static string Write(ExportedImage m, IReadOnlyList<LabeledBox> boxes) =>
        new XDocument(new XElement("annotation",
            new XElement("filename", m.FileName),
            new XElement("size",
                new XElement("width", m.Width), new XElement("height", m.Height), new XElement("depth", 3)),
            boxes.Select(b => new XElement("object",
                new XElement("name", b.Label),
                new XElement("pose", "Unspecified"),
                new XElement("truncated", 0),
                new XElement("difficult", 0),
                new XElement("bndbox",
                    new XElement("xmin", b.X + 1), new XElement("ymin", b.Y + 1),
                    new XElement("xmax", b.X + b.Width), new XElement("ymax", b.Y + b.Height))))))
        .ToString() + "\n";

    /// <summary>Reads a folder of <c>.xml</c> files and its <c>classes.txt</c> when there is one.</summary>
    public static ImportResult ReadFolder(string folder)
    {
        YoloFormat.RequireFolder(folder, "VOC", ".xml");
        var classes = Path.Combine(folder, YoloFormat.ClassesFile);
        var xmlFiles = Directory.GetFiles(folder, "*.xml");
        YoloFormat.RequireFiles(folder, xmlFiles, ".xml annotation", "Annotations", "for a VOC dataset root, point at its annotations folder");
        // Each file is read when it is parsed, not all first: the memory is one file's text, whatever the folder holds.
        var byName = xmlFiles.ToDictionary(f => Path.GetFileName(f), StringComparer.Ordinal);
        return Read(byName.Keys, name => File.ReadAllText(byName[name]), File.Exists(classes) ? File.ReadAllText(classes) : null);
    }

    /// <param name="files">Text of each <c>.xml</c> file, by file name.</param>
    /// <param name="classesText"><c>classes.txt</c> when present: its order is kept; names not in it are added after, and listed.</param>
    public static ImportResult Read(IReadOnlyDictionary<string, string> files, string? classesText) =>
        Read(files.Keys, name => files[name], classesText);

    /// <param name="names">The <c>.xml</c> files, by file name.</param>
    /// <param name="textOf">A file's text, by name: read once each, when it is parsed.</param>
    /// <inheritdoc cref="Read(IReadOnlyDictionary{string, string}, string?)"/>
    public static ImportResult Read(IEnumerable<string> names, Func<string, string> textOf, string? classesText)
    {
        var classes = (classesText ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var declared = classes.Count > 0;
        var problems = new List<string>();
        var images = new List<ImportedImage>();
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        foreach (var name in names.Order(StringComparer.Ordinal))
        {
            var text = textOf(name);
            XElement root;
            try
            {
                using var reader = XmlReader.Create(new StringReader(text), settings);
                root = XElement.Load(reader);
            }
            catch (XmlException e)
            {
                // The parser's DTD message tells a programmer which setting to change; the user gets what to do.
                problems.Add(text.Contains("<!DOCTYPE", StringComparison.OrdinalIgnoreCase)
                    ? $"{name} declares a DTD (<!DOCTYPE ...>), which an import refuses (it can expand entities or read other files); remove that declaration; its image is not imported"
                    : $"{name} is not valid XML ({e.Message}); its image is not imported");
                continue;
            }
            var file = root.Element("filename")?.Value.Trim();
            if (string.IsNullOrEmpty(file))
            {
                problems.Add($"{name} names no <filename>; not imported");
                continue;
            }
            static double? Number(XElement? e) =>
                e is not null && double.TryParse(e.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
            static int Size(XElement? e) => Number(e) is { } v && BoxRules.Pixel(v) is { } n && n > 0 ? n : 0;
            var boxes = new List<ImportedBox>();
            var refused = 0;
            var index = 0;
            foreach (var o in root.Elements("object"))
            {
                var where = $"{name}: object {(++index).ToString(CultureInfo.InvariantCulture)}";
                var label = o.Element("name")?.Value.Trim();
                var box = o.Element("bndbox");
                if (string.IsNullOrEmpty(label))
                {
                    problems.Add($"{where} (image {file}) has no <name>; not imported");
                    refused++;
                    continue;
                }
                if (Number(box?.Element("xmin")) is not { } x0 || Number(box?.Element("ymin")) is not { } y0
                    || Number(box?.Element("xmax")) is not { } x1 || Number(box?.Element("ymax")) is not { } y1)
                {
                    problems.Add($"{where} (image {file}): <bndbox> needs the numbers <xmin>, <ymin>, <xmax> and <ymax>; not imported");
                    refused++;
                    continue;
                }
                // 1-based inclusive edges: the box's left pixel is xmin - 1, its right edge (exclusive) xmax.
                if (BoxRules.FromEdges(label, x0 - 1, y0 - 1, x1, y1, out var problem) is not { } read)
                {
                    problems.Add($"{where} (image {file}): {problem}; not imported");
                    refused++;
                    continue;
                }
                if (!classes.Contains(label))
                {
                    if (declared)
                    {
                        problems.Add($"{where} (image {file}) is a '{label}', which {YoloFormat.ClassesFile} does not list; added to the class list");
                    }
                    classes.Add(label);
                }
                boxes.Add(new ImportedBox(read, name, index, ": object "));
            }
            images.Add(new ImportedImage(file, name, Size(root.Element("size")?.Element("width")), Size(root.Element("size")?.Element("height")), boxes, refused));
        }
        return new ImportResult(Duplicates.Refuse(images, problems).ToArray(), classes, problems);
    }
}

/// <summary>
/// What an import writes, decided before anything is written: each image the import names that is an image of the
/// dataset gets exactly the boxes the file gives it, when every one of them was read and lies inside it (by its size as
/// shown). An image with any refused box is not written at all and keeps its labels: writing the rest would silently
/// drop the refused boxes and, when all were refused, erase the image's labels. Every refused box, every image not
/// written, every image not in the dataset and every stated size that disagrees with the image is listed.
/// </summary>
public static class ImportPlan
{
    /// <param name="sizeOf">An image's size as shown (EXIF applied), or null when the dataset has no such image.</param>
    public static (IReadOnlyList<AnnotatedImage> Writes, IReadOnlyList<string> Problems) Build(ImportResult result, Func<string, (int Width, int Height)?> sizeOf)
    {
        var problems = result.Problems.ToList();
        var writes = new List<AnnotatedImage>();
        foreach (var m in result.Images)
        {
            if (sizeOf(m.FileName) is not { } size)
            {
                problems.Add($"{LabelRules.Escape(m.Source)}: {LabelRules.Escape(m.FileName)} is not an image of the dataset: its {m.Boxes.Count} boxes are not imported");
                continue;
            }
            var (w, h) = size;
            if (m.Width > 0 && m.Height > 0 && (m.Width, m.Height) != (w, h))
            {
                problems.Add($"{m.Source}: the file says {m.FileName} is {m.Width}x{m.Height}, the image is {w}x{h} as shown"
                    + ((h, w) == (m.Width, m.Height) ? " (rotated by its EXIF orientation: were the boxes drawn on the stored pixels?)" : "")
                    + "; boxes inside it imported as written");
            }
            var refused = m.Refused;
            foreach (var b in m.Boxes)
            {
                if (BoxRules.Outside(b.Box, w, h) is { } outside)
                {
                    problems.Add($"{b.Source} (image {m.FileName}): {outside}; not imported");
                    refused++;
                }
            }
            if (refused > 0)
            {
                var total = m.Refused + m.Boxes.Count;
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"{m.FileName}: not imported ({refused} of {total} boxes refused); its labels are unchanged"));
                continue;
            }
            // Every box is written: a view of the import's, not a copy (10^6 boxes held twice otherwise).
            writes.Add(new AnnotatedImage(m.FileName, w, h, new BoxesOf(m.Boxes)));
        }
        return (writes, problems);
    }

    /// <summary>The boxes of an import's image, made as they are read.</summary>
    private sealed class BoxesOf(IReadOnlyList<ImportedBox> boxes) : IReadOnlyList<LabeledBox>
    {
        public int Count => boxes.Count;

        public LabeledBox this[int index] => boxes[index].Box;

        public IEnumerator<LabeledBox> GetEnumerator() => boxes.Select(b => b.Box).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

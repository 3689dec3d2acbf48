using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using System.Xml.Linq;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Formats;

/// <summary>An image with its size in display orientation (EXIF applied, as the labels file's pixels are) and its boxes.</summary>
public sealed record AnnotatedImage(string FileName, int Width, int Height, IReadOnlyList<LabeledBox> Boxes);

/// <summary>What an import read: the images' boxes, the class list, and every odd input it met (reported, not dropped
/// silently).</summary>
public sealed record ImportResult(IReadOnlyList<AnnotatedImage> Images, IReadOnlyList<string> Classes, IReadOnlyList<string> Problems);

/// <summary>COCO detection JSON: images (id, file_name, width, height), categories (id, name) and annotations with
/// <c>bbox</c> = [x, y, width, height] in pixels. Category ids follow the class list from 1.</summary>
public static class CocoFormat
{
    public static string Write(IReadOnlyList<AnnotatedImage> images, IReadOnlyList<string> classes)
    {
        var categories = classes.Select((c, i) => new JsonObject { ["id"] = i + 1, ["name"] = c, ["supercategory"] = "" });
        var annotations = new JsonArray();
        var id = 0;
        for (var i = 0; i < images.Count; i++)
        {
            foreach (var b in images[i].Boxes)
            {
                var annotation = new JsonObject
                {
                    ["id"] = ++id, ["image_id"] = i + 1, ["category_id"] = IndexOf(classes, b.Label) + 1,
                    ["bbox"] = new JsonArray(b.X, b.Y, b.Width, b.Height), ["area"] = (long)b.Width * b.Height, ["iscrowd"] = 0,
                };
                if (b.Score is { } score)
                {
                    annotation["score"] = score; // as COCO detection results carry it: eval tools read it
                }
                annotations.Add(annotation);
            }
        }
        return new JsonObject
        {
            ["images"] = new JsonArray([.. images.Select((m, i) => (JsonNode)new JsonObject { ["id"] = i + 1, ["file_name"] = m.FileName, ["width"] = m.Width, ["height"] = m.Height })]),
            ["categories"] = new JsonArray([.. categories]),
            ["annotations"] = annotations,
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static ImportResult Read(string json)
    {
        var root = JsonNode.Parse(json)?.AsObject() ?? throw new DatasetException("the COCO file is not a JSON object");
        var problems = new List<string>();
        var categories = (root["categories"]?.AsArray() ?? []).Select(c => (Id: c!["id"]!.GetValue<long>(), Name: c["name"]!.GetValue<string>())).ToArray();
        var names = categories.ToDictionary(c => c.Id, c => c.Name);
        var images = (root["images"]?.AsArray() ?? []).Select(m => (Id: m!["id"]!.GetValue<long>(), File: m["file_name"]!.GetValue<string>(),
            Width: m["width"]?.GetValue<int>() ?? 0, Height: m["height"]?.GetValue<int>() ?? 0)).ToArray();
        var boxes = images.ToDictionary(m => m.Id, _ => new List<LabeledBox>());
        foreach (var a in root["annotations"]?.AsArray() ?? [])
        {
            var imageId = a!["image_id"]!.GetValue<long>();
            var bbox = a["bbox"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            if (!boxes.TryGetValue(imageId, out var list))
            {
                problems.Add($"annotation {a["id"]} names image {imageId}, which the file does not list");
            }
            else if (!names.TryGetValue(a["category_id"]!.GetValue<long>(), out var label))
            {
                problems.Add($"annotation {a["id"]} names category {a["category_id"]}, which the file does not list");
            }
            else if (bbox.Length != 4 || bbox[2] <= 0 || bbox[3] <= 0)
            {
                problems.Add($"annotation {a["id"]} has no usable bbox");
            }
            else
            {
                list.Add(new LabeledBox(label, Round(bbox[0]), Round(bbox[1]), Round(bbox[2]), Round(bbox[3]))
                {
                    Score = a["score"] is JsonValue s && s.TryGetValue<double>(out var score) ? score : null,
                });
            }
        }
        var result = images.Select(m => new AnnotatedImage(m.File, m.Width, m.Height, boxes[m.Id])).ToArray();
        problems.AddRange(Outside(result));
        return new ImportResult(result, categories.OrderBy(c => c.Id).Select(c => c.Name).ToArray(), problems);
    }

    internal static int IndexOf(IReadOnlyList<string> classes, string label)
    {
        for (var i = 0; i < classes.Count; i++)
        {
            if (classes[i] == label)
            {
                return i;
            }
        }
        throw new DatasetException($"label '{label}' is not in the class list");
    }

    internal static int Round(double v) => (int)Math.Round(v, MidpointRounding.AwayFromZero);

    /// <summary>Boxes reaching outside their image are kept, and reported.</summary>
    internal static IEnumerable<string> Outside(IEnumerable<AnnotatedImage> images) =>
        images.Where(m => m.Width > 0 && m.Height > 0).SelectMany(m => m.Boxes
            .Where(b => b.X < 0 || b.Y < 0 || b.X + b.Width > m.Width || b.Y + b.Height > m.Height)
            .Select(b => $"{m.FileName}: the {b.Label} box {b.X},{b.Y} {b.Width}x{b.Height} reaches outside the {m.Width}x{m.Height} image"));
}

/// <summary>YOLO text labels: one <c>&lt;stem&gt;.txt</c> per image, lines <c>class cx cy w h</c> normalised to the image
/// size, and <c>classes.txt</c> with a class name per line (the line number is the class id).</summary>
public static class YoloFormat
{
    public const string ClassesFile = "classes.txt";

    public static (IReadOnlyDictionary<string, string> Files, string Classes) Write(IReadOnlyList<AnnotatedImage> images, IReadOnlyList<string> classes)
    {
        static string F(double v) => v.ToString("0.0000000", CultureInfo.InvariantCulture);
        var files = images.ToDictionary(m => Path.GetFileNameWithoutExtension(m.FileName) + ".txt", m =>
        {
            var text = new StringBuilder();
            foreach (var b in m.Boxes)
            {
                text.Append(CultureInfo.InvariantCulture, $"{CocoFormat.IndexOf(classes, b.Label)} {F((b.X + b.Width / 2.0) / m.Width)} {F((b.Y + b.Height / 2.0) / m.Height)} {F((double)b.Width / m.Width)} {F((double)b.Height / m.Height)}\n");
            }
            return text.ToString();
        }, StringComparer.Ordinal);
        return (files, string.Concat(classes.Select(c => c + "\n")));
    }

    /// <param name="labelFiles">Text of each <c>&lt;stem&gt;.txt</c>, by stem.</param>
    /// <param name="images">The dataset's images (file name, display size), matched to label files by stem.</param>
    public static ImportResult Read(IReadOnlyDictionary<string, string> labelFiles, string classesText, IReadOnlyList<(string FileName, int Width, int Height)> images)
    {
        var classes = classesText.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        var problems = new List<string>();
        var byStem = images.ToDictionary(m => Path.GetFileNameWithoutExtension(m.FileName), StringComparer.Ordinal);
        foreach (var stem in labelFiles.Keys.Where(s => !byStem.ContainsKey(s)))
        {
            problems.Add($"{stem}.txt has no image");
        }
        var result = images.Select(m =>
        {
            var boxes = new List<LabeledBox>();
            var stem = Path.GetFileNameWithoutExtension(m.FileName);
            var lines = labelFiles.TryGetValue(stem, out var text) ? text.Split('\n') : [];
            for (var n = 0; n < lines.Length; n++)
            {
                var parts = lines[n].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0)
                {
                    continue;
                }
                if (parts.Length != 5 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var cls) || cls < 0 || cls >= classes.Length
                    || !parts.Skip(1).All(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                {
                    problems.Add($"{stem}.txt line {n + 1}: '{lines[n].Trim()}' is not 'class cx cy w h' with a class from {ClassesFile}");
                    continue;
                }
                var (cx, cy, w, h) = (double.Parse(parts[1], CultureInfo.InvariantCulture) * m.Width, double.Parse(parts[2], CultureInfo.InvariantCulture) * m.Height,
                    double.Parse(parts[3], CultureInfo.InvariantCulture) * m.Width, double.Parse(parts[4], CultureInfo.InvariantCulture) * m.Height);
                var (x0, y0) = (CocoFormat.Round(cx - w / 2), CocoFormat.Round(cy - h / 2));
                boxes.Add(new LabeledBox(classes[cls], x0, y0, CocoFormat.Round(cx + w / 2) - x0, CocoFormat.Round(cy + h / 2) - y0));
            }
            return new AnnotatedImage(m.FileName, m.Width, m.Height, boxes);
        }).ToArray();
        problems.AddRange(CocoFormat.Outside(result));
        return new ImportResult(result, classes, problems);
    }
}

/// <summary>
/// Pascal VOC XML: one <c>&lt;stem&gt;.xml</c> per image (<c>filename</c>, <c>size</c>, an <c>object</c> per box with
/// <c>name</c> and <c>bndbox</c>), and <c>classes.txt</c> beside them to keep the class list (VOC has none of its own).
/// Coordinates follow the VOC devkit: 1-based and inclusive, so a box at x with width w is <c>xmin = x + 1</c>,
/// <c>xmax = x + w</c> (detectron2 and torchvision's VOC readers subtract the 1 again). DTDs are refused on read.
/// </summary>
public static class VocFormat
{
    public static IReadOnlyDictionary<string, string> Write(IReadOnlyList<AnnotatedImage> images) =>
        images.ToDictionary(m => Path.GetFileNameWithoutExtension(m.FileName) + ".xml", m =>
            new XDocument(new XElement("annotation",
                new XElement("filename", m.FileName),
                new XElement("size",
                    new XElement("width", m.Width), new XElement("height", m.Height), new XElement("depth", 3)),
                m.Boxes.Select(b => new XElement("object",
                    new XElement("name", b.Label),
                    new XElement("pose", "Unspecified"),
                    new XElement("truncated", 0),
                    new XElement("difficult", 0),
                    new XElement("bndbox",
                        new XElement("xmin", b.X + 1), new XElement("ymin", b.Y + 1),
                        new XElement("xmax", b.X + b.Width), new XElement("ymax", b.Y + b.Height))))))
            .ToString() + "\n", StringComparer.Ordinal);

    /// <param name="files">Text of each <c>.xml</c> file, by file name.</param>
    /// <param name="classesText"><c>classes.txt</c> when present: its order is kept; names not in it are added after, and listed.</param>
    public static ImportResult Read(IReadOnlyDictionary<string, string> files, string? classesText)
    {
        var classes = (classesText ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        var declared = classes.Count > 0;
        var problems = new List<string>();
        var images = new List<AnnotatedImage>();
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        foreach (var (name, text) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            XElement root;
            try
            {
                using var reader = XmlReader.Create(new StringReader(text), settings);
                root = XElement.Load(reader);
            }
            catch (XmlException e)
            {
                problems.Add($"{name} is not valid XML ({e.Message})");
                continue;
            }
            var file = root.Element("filename")?.Value.Trim();
            if (string.IsNullOrEmpty(file))
            {
                problems.Add($"{name} names no <filename>");
                continue;
            }
            int Int(XElement? e) => e is not null && double.TryParse(e.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? CocoFormat.Round(v) : int.MinValue;
            var (width, height) = (Int(root.Element("size")?.Element("width")), Int(root.Element("size")?.Element("height")));
            var boxes = new List<LabeledBox>();
            var n = 0;
            foreach (var o in root.Elements("object"))
            {
                n++;
                var label = o.Element("name")?.Value.Trim();
                var box = o.Element("bndbox");
                var (x0, y0, x1, y1) = (Int(box?.Element("xmin")), Int(box?.Element("ymin")), Int(box?.Element("xmax")), Int(box?.Element("ymax")));
                if (string.IsNullOrEmpty(label) || new[] { x0, y0, x1, y1 }.Contains(int.MinValue) || x1 < x0 || y1 < y0)
                {
                    problems.Add($"{name}: object {n} has no name or no usable <bndbox> (xmin <= xmax, ymin <= ymax)");
                    continue;
                }
                if (!classes.Contains(label))
                {
                    if (declared)
                    {
                        problems.Add($"{name}: object {n} is a '{label}', which {YoloFormat.ClassesFile} does not list; added to the class list");
                    }
                    classes.Add(label);
                }
                boxes.Add(new LabeledBox(label, x0 - 1, y0 - 1, x1 - x0 + 1, y1 - y0 + 1));
            }
            images.Add(new AnnotatedImage(file, Math.Max(0, width), Math.Max(0, height), boxes));
        }
        problems.AddRange(CocoFormat.Outside(images));
        return new ImportResult(images, classes, problems);
    }
}

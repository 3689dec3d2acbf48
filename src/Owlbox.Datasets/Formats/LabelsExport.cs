using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Formats;

/// <summary>
/// An export's two streamed passes over the labels file (<see cref="LabelsReader"/>), so its memory is a few numbers
/// per image and per box, never the file or a tree of it. <see cref="Scan"/> checks the whole file and every exported
/// label (<see cref="LabelRules"/>) and counts; <see cref="BoxesInImageOrder"/> reads the boxes again for the writer.
/// Entries of files that are not images of the dataset are passed over, as the export always did.
/// </summary>
public sealed class LabelsExport
{
    private readonly string _labelsPath;
    private readonly IReadOnlyDictionary<string, int> _images;
    private readonly int[] _counts;

    private LabelsExport(string labelsPath, IReadOnlyDictionary<string, int> images, int[] counts, string[] classes, bool inImageOrder,
        (int Image, string Problem)? badLabel)
    {
        (_labelsPath, _images, _counts, Classes, InImageOrder, BadLabel) = (labelsPath, images, counts, classes, inImageOrder, badLabel);
        BoxCount = counts.Sum(c => (long)c);
    }

    /// <summary>Every exported label, sorted (ordinal): the COCO category ids and YOLO class ids follow it.</summary>
    public IReadOnlyList<string> Classes { get; }

    public long BoxCount { get; }

    /// <summary>Whether the file lists the dataset's images in the dataset's order (then the second pass holds nothing).</summary>
    public bool InImageOrder { get; }

    /// <summary>The first image (in the dataset's order) with a label <see cref="LabelRules"/> refuses, and the first
    /// such label's problem: the caller says it where the one-pass export did, after the earlier images' sizes.</summary>
    public (int Image, string Problem)? BadLabel { get; }

    public int BoxesOf(int image) => _counts[image];

    /// <param name="labelsPath">The dataset's labels file (a missing one has no boxes).</param>
    /// <param name="images">Index of each image of the dataset, by file name, in the dataset's order.</param>
    /// <exception cref="DatasetException">The labels file cannot be read, with its reason.</exception>
    public static LabelsExport Scan(string labelsPath, IReadOnlyDictionary<string, int> images)
    {
        var counts = new int[images.Count];
        var classes = new HashSet<string>(StringComparer.Ordinal);
        (int Image, string Problem)? bad = null;
        var (last, inOrder) = (-1, true);
        foreach (var entry in LabelsReader.ReadFile(labelsPath))
        {
            if (entry.Boxes is not { } boxes || !images.TryGetValue(entry.SampleId, out var image))
            {
                continue;
            }
            counts[image] = boxes.Count;
            if (boxes.Count > 0)
            {
                inOrder &= image > last;
                last = image;
            }
            foreach (var b in boxes)
            {
                if (LabelRules.Problem(b.Label) is { } problem)
                {
                    if (bad is null || image < bad.Value.Image)
                    {
                        bad = (image, problem);
                    }
                    break;
                }
                classes.Add(b.Label);
            }
        }
        return new LabelsExport(labelsPath, images, counts, [.. classes.Order(StringComparer.Ordinal)], inOrder, bad);
    }

    /// <summary>Each image's boxes that has any, read again from the file, as it lists them (YOLO and VOC write a file
    /// per image, in any order).</summary>
    /// <exception cref="DatasetException">The file changed since <see cref="Scan"/> (another writer saved it).</exception>
    public IEnumerable<(int Image, IReadOnlyList<LabeledBox> Boxes)> BoxesAsListed()
    {
        var classes = Classes.ToHashSet(StringComparer.Ordinal);
        foreach (var entry in LabelsReader.ReadFile(_labelsPath))
        {
            if (entry.Boxes is { Count: > 0 } boxes && _images.TryGetValue(entry.SampleId, out var image))
            {
                // The file is read twice without the writers' lock: a save between the reads would mix two versions.
                if (boxes.Count != _counts[image] || boxes.Any(b => !classes.Contains(b.Label)))
                {
                    throw new DatasetException($"{_labelsPath} changed during the export ({LabelRules.Escape(entry.SampleId)}'s boxes); export again");
                }
                yield return (image, boxes);
            }
        }
    }

    /// <summary>Each image's boxes that has any, in the dataset's order (a COCO file's annotations are numbered in it).
    /// A file in another order (a job's new samples are appended) is read into one compact array first: 32 bytes a
    /// box, the label as its class number.</summary>
    public IEnumerable<(int Image, IReadOnlyList<LabeledBox> Boxes)> BoxesInImageOrder()
    {
        if (InImageOrder)
        {
            foreach (var item in BoxesAsListed())
            {
                yield return item;
            }
            yield break;
        }
        var start = new long[_counts.Length + 1];
        for (var i = 0; i < _counts.Length; i++)
        {
            start[i + 1] = start[i] + _counts[i];
        }
        var classOf = Classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var stored = new StoredBox[BoxCount];
        foreach (var (image, boxes) in BoxesAsListed())
        {
            for (var k = 0; k < boxes.Count; k++)
            {
                var b = boxes[k];
                stored[start[image] + k] = new StoredBox(classOf[b.Label], b.X, b.Y, b.Width, b.Height, b.Score ?? double.NaN);
            }
        }
        for (var image = 0; image < _counts.Length; image++)
        {
            if (_counts[image] == 0)
            {
                continue;
            }
            var boxes = new LabeledBox[_counts[image]];
            for (var k = 0; k < boxes.Length; k++)
            {
                var s = stored[start[image] + k];
                boxes[k] = new LabeledBox(Classes[s.Class], s.X, s.Y, s.Width, s.Height) { Score = double.IsNaN(s.Score) ? null : s.Score };
            }
            yield return (image, boxes);
        }
    }

    private readonly record struct StoredBox(int Class, int X, int Y, int Width, int Height, double Score);
}

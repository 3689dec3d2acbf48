using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Formats;

/// <summary>
/// The boxes a COCO file gives, as flat values (image, category, the four pixels, the annotation's index: 28 bytes a
/// box, no object per box), grouped by image once read: 10^6 annotations as <see cref="LabeledBox"/>es in a list per
/// image were about three times that. A box is made when its image's list is read (an import reads each twice:
/// checked against its image, then written) and dropped after.
/// </summary>
internal sealed class AnnotationStore(string list, IReadOnlyList<string> categories)
{
    [StructLayout(LayoutKind.Auto)]
    private readonly record struct Annotation(int Image, int Category, int X, int Y, int Width, int Height, int Index);

    private readonly List<Annotation> _read = [];
    private readonly Dictionary<int, double> _scores = []; // by position in _read: detection results carry one, ground truth none

    /// <param name="image">The image's place among those read (0, 1, ...).</param>
    /// <param name="category">The category's place in <c>categories</c>, as given to the constructor.</param>
    /// <param name="index">The annotation's index in the file, for a message about it.</param>
    public void Add(int image, int category, LabeledBox box, double? score, int index)
    {
        if (score is { } s)
        {
            _scores[_read.Count] = s;
        }
        _read.Add(new Annotation(image, category, box.X, box.Y, box.Width, box.Height, index));
    }

    /// <summary>Each image's boxes, by its place, in the order the file lists them (a stable counting sort: an int a box).</summary>
    public IReadOnlyList<ImportedBox>[] ByImage(int images)
    {
        var start = new int[images + 1];
        foreach (var a in _read)
        {
            start[a.Image + 1]++;
        }
        for (var i = 0; i < images; i++)
        {
            start[i + 1] += start[i];
        }
        var order = new int[_read.Count];
        var next = start[..^1];
        for (var p = 0; p < _read.Count; p++)
        {
            order[next[_read[p].Image]++] = p;
        }
        var result = new IReadOnlyList<ImportedBox>[images];
        for (var i = 0; i < images; i++)
        {
            result[i] = new ImageBoxes(this, order, start[i], start[i + 1] - start[i]);
        }
        return result;
    }

    private ImportedBox Box(int position)
    {
        var a = _read[position];
        var box = new LabeledBox(categories[a.Category], a.X, a.Y, a.Width, a.Height)
        {
            Score = _scores.TryGetValue(position, out var s) ? s : null,
        };
        return new ImportedBox(box, list, a.Index);
    }

    private sealed class ImageBoxes(AnnotationStore store, int[] order, int start, int count) : IReadOnlyList<ImportedBox>
    {
        public int Count => count;

        public ImportedBox this[int index] =>
            (uint)index < (uint)count ? store.Box(order[start + index]) : throw new ArgumentOutOfRangeException(nameof(index), index.ToString(CultureInfo.InvariantCulture));

        public IEnumerator<ImportedBox> GetEnumerator()
        {
            for (var i = 0; i < count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

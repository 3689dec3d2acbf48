using System.Text.Json;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Local;

/// <summary>How Owlbox writes a labels file's parts, in one place for every writer (an update's rewrite and splice,
/// the bulk import): the writer's options, the byte-order mark kept, a sample's boxes and its metadata.</summary>
internal static class LabelsEntryWriter
{
    /// <summary>Indented, and text escaped no further than JSON needs (a label keeps its accents and quotes readable).</summary>
    public static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = MinimalJsonEncoder.Instance };

    public static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>A labels file where there was none: the header Edge Impulse reads, then both sections as the caller
    /// writes them.</summary>
    public static void WriteNewFile(Utf8JsonWriter w, Action<Utf8JsonWriter> boxes, Action<Utf8JsonWriter> metadata)
    {
        w.WriteStartObject();
        w.WriteNumber("version", 1);
        w.WriteString("type", "bounding-box-labels");
        boxes(w);
        metadata(w);
        w.WriteEndObject();
    }

    /// <summary>Opens the file to read it in order, past its byte-order mark when it has one (<paramref name="bom"/>).</summary>
    public static FileStream OpenRead(string file, out bool bom)
    {
        var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        Span<byte> head = stackalloc byte[3];
        var n = input.ReadAtLeast(head, 3, throwOnEndOfStream: false);
        bom = n == 3 && head.SequenceEqual(Bom);
        if (!bom)
        {
            input.Position = 0;
        }
        return input;
    }

    /// <summary>A box the sample already had (<paramref name="had"/>, with its own JSON) is written back as the file had
    /// it (its extra keys, its number text); a new box with the five keys Edge Impulse reads, and its <c>score</c> when
    /// a model made it.</summary>
    public static void WriteBoxes(Utf8JsonWriter w, IReadOnlyList<LabeledBox> boxes, IReadOnlyList<LabeledBox> had, IReadOnlyList<byte[]> json)
    {
        var left = had.Count == 0 ? null : had.Select((b, i) => (Box: b, Json: json[i])).ToList();
        w.WriteStartArray();
        foreach (var b in boxes)
        {
            var i = left?.FindIndex(s => s.Box == b) ?? -1;
            if (i >= 0)
            {
                using var document = JsonDocument.Parse(left![i].Json);
                document.RootElement.WriteTo(w);
                left.RemoveAt(i);
                continue;
            }
            w.WriteStartObject();
            w.WriteString("label", b.Label);
            w.WriteNumber("x", b.X);
            w.WriteNumber("y", b.Y);
            w.WriteNumber("width", b.Width);
            w.WriteNumber("height", b.Height);
            if (b.Score is { } score)
            {
                w.WriteNumber("score", score);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Keys in the order the labels carry them (the sample's own keys first, as read).</summary>
    public static void WriteMetadata(Utf8JsonWriter w, IReadOnlyDictionary<string, string> metadata)
    {
        w.WriteStartObject();
        foreach (var (k, v) in metadata)
        {
            w.WriteString(k, v);
        }
        w.WriteEndObject();
    }
}

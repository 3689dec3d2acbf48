using System.Buffers;
using System.Text.Json;

namespace Owlbox.Datasets.Local;

/// <summary>Where one section of a labels file (<c>"boundingBoxes"</c> or <c>"metadata"</c>) sits, as file offsets: its
/// name's opening quote, its <c>{</c> and <c>}</c>, and its last entry's name (-1 when it has none).</summary>
public sealed record LabelsSectionLayout(long Name, long Open, long Close, long LastEntry);

/// <summary>Where a labels file's parts sit, as file offsets (a byte-order mark counted): the last top-level member's
/// name, the root's closing <c>}</c>, and the two sections (metadata null when the file has none).</summary>
public sealed record LabelsLayout(long LastRootMember, long RootClose, LabelsSectionLayout Boxes, LabelsSectionLayout? Metadata);

/// <summary>One sample to write: where its entries start in each section (-1: not there, it is appended at the section's
/// end) and how to write each entry's new value.</summary>
public sealed record SplicedSample(string SampleId, long BoxesAt, long MetadataAt, Action<Utf8JsonWriter> WriteBoxes, Action<Utf8JsonWriter> WriteMetadata);

/// <summary>
/// A labels file's new version made from the old one by splicing: every byte outside the changed entries' values is
/// copied as it is (the file was checked when its layout was taken; nothing there needs reading again), the changed
/// values are replaced, new entries go at the end of their section (a missing metadata section is added at the end of
/// the top level). What Owlbox writes follows the layout around it: indented as the neighbouring entry is (its
/// indentation, its line ends, CRLF included), or on one line in a file written on one line. On a file in Owlbox's own
/// layout this gives the same bytes as rewriting it whole; the cost is a copy of the file, not a parse of it.
/// </summary>
public static class LabelsSplice
{
    /// <summary>Replace <see cref="Remove"/> bytes at <see cref="At"/> with <see cref="Insert"/>, in which
    /// <see cref="Marks"/> say where the new entries' names and a new section's parts are (for the new version's
    /// index).</summary>
    public readonly record struct Edit(long At, long Remove, byte[] Insert, IReadOnlyList<Mark> Marks);

    public enum MarkKind
    {
        Entry,
        SectionName,
        SectionOpen,
        SectionClose,
    }

    /// <summary>A place in an edit's inserted bytes: an entry's name (its sample) or a part of a section written whole.</summary>
    public readonly record struct Mark(LabelsSection Section, MarkKind Kind, string? SampleId, int Offset);

    private static readonly JsonWriterOptions s_compact = new() { Encoder = MinimalJsonEncoder.Instance };

    /// <summary>The edits that make the new version, in file order, reading only around the places edited.</summary>
    public static IReadOnlyList<Edit> Plan(Stream file, LabelsLayout layout, IEnumerable<SplicedSample> samples)
    {
        // The places the layout names must hold what it says (a cheap guard: the layout is of this very version).
        Expect(file, layout.RootClose, '}');
        Expect(file, layout.LastRootMember, '"');
        foreach (var section in new[] { layout.Boxes, layout.Metadata })
        {
            if (section is not null)
            {
                Expect(file, section.Name, '"');
                Expect(file, section.Open, '{');
                Expect(file, section.Close, '}');
            }
        }
        var edits = new List<Edit>();
        var newBoxes = new List<(string, Action<Utf8JsonWriter>)>();
        var newMetadata = new List<(string, Action<Utf8JsonWriter>)>();
        foreach (var s in samples)
        {
            Place(file, s.BoxesAt, s.SampleId, s.WriteBoxes, edits, newBoxes);
            Place(file, s.MetadataAt, s.SampleId, s.WriteMetadata, edits, newMetadata);
        }
        Append(file, LabelsSection.BoundingBoxes, layout.Boxes, newBoxes, edits);
        if (layout.Metadata is { } metadata)
        {
            Append(file, LabelsSection.Metadata, metadata, newMetadata, edits);
        }
        else if (newMetadata.Count > 0)
        {
            var style = Style.Of(GapBefore(file, layout.LastRootMember));
            var at = layout.RootClose - GapBefore(file, layout.RootClose).Length;
            var marks = new List<Mark>();
            byte[] head = [(byte)',', .. style.Gap];
            marks.Add(new Mark(LabelsSection.Metadata, MarkKind.SectionName, null, head.Length));
            head = [.. head, .. Name("metadata"), .. style.Colon];
            var section = Section(LabelsSection.Metadata, style, newMetadata, marks, head.Length);
            edits.Add(new Edit(at, 0, [.. head, .. section], marks));
        }
        edits.Sort((a, b) => a.At.CompareTo(b.At));
        return edits;
    }

    private static void Expect(Stream file, long at, char what)
    {
        file.Position = at;
        if (at < 0 || file.ReadByte() != what)
        {
            throw new JsonException($"no '{what}' at byte {at} of the labels file");
        }
    }

    /// <summary>Copies <paramref name="file"/> to <paramref name="output"/> with the edits made.</summary>
    public static void Apply(Stream file, IReadOnlyList<Edit> edits, Stream output)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            file.Position = 0;
            long at = 0;
            foreach (var edit in edits)
            {
                Copy(file, output, edit.At - at, buffer);
                output.Write(edit.Insert);
                file.Position = at = edit.At + edit.Remove;
            }
            Copy(file, output, file.Length - at, buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Copy(Stream from, Stream to, long count, byte[] buffer)
    {
        while (count > 0)
        {
            var n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0)
            {
                throw new EndOfStreamException("the labels file ended before the layout said it would");
            }
            to.Write(buffer, 0, n);
            count -= n;
        }
    }

    private static void Place(Stream file, long at, string id, Action<Utf8JsonWriter> write, List<Edit> edits, List<(string, Action<Utf8JsonWriter>)> appended)
    {
        if (at < 0)
        {
            appended.Add((id, write));
            return;
        }
        var (start, end) = ValueRange(file, at);
        edits.Add(new Edit(start, end - start, Render(write, Style.Of(GapBefore(file, at))), []));
    }

    /// <summary>New entries at a section's end: after its last entry, laid out as that one is; in an empty section, one
    /// level deeper than the section's name.</summary>
    private static void Append(Stream file, LabelsSection kind, LabelsSectionLayout section, List<(string Id, Action<Utf8JsonWriter> Write)> entries,
        List<Edit> edits)
    {
        if (entries.Count == 0)
        {
            return;
        }
        var marks = new List<Mark>();
        if (section.LastEntry < 0)
        {
            var whole = Section(kind, Style.Of(GapBefore(file, section.Name)), entries, marks, 0);
            edits.Add(new Edit(section.Open, section.Close + 1 - section.Open, whole, marks));
            return;
        }
        var style = Style.Of(GapBefore(file, section.LastEntry));
        var bytes = new List<byte>();
        foreach (var (id, write) in entries)
        {
            bytes.Add((byte)',');
            bytes.AddRange(style.Gap);
            marks.Add(new Mark(kind, MarkKind.Entry, id, bytes.Count));
            bytes.AddRange(Name(id));
            bytes.AddRange(style.Colon);
            bytes.AddRange(Render(write, style));
        }
        edits.Add(new Edit(section.Close - GapBefore(file, section.Close).Length, 0, [.. bytes], marks));
    }

    /// <summary>A whole section object of new entries, its members one level deeper than <paramref name="outer"/>.</summary>
    private static byte[] Section(LabelsSection kind, Style outer, List<(string Id, Action<Utf8JsonWriter> Write)> entries, List<Mark> marks, int at)
    {
        var inner = outer.Deeper();
        var bytes = new List<byte> { (byte)'{' };
        marks.Add(new Mark(kind, MarkKind.SectionOpen, null, at));
        for (var i = 0; i < entries.Count; i++)
        {
            if (i > 0)
            {
                bytes.Add((byte)',');
            }
            bytes.AddRange(inner.Gap);
            marks.Add(new Mark(kind, MarkKind.Entry, entries[i].Id, at + bytes.Count));
            bytes.AddRange(Name(entries[i].Id));
            bytes.AddRange(inner.Colon);
            bytes.AddRange(Render(entries[i].Write, inner));
        }
        if (outer.Indented)
        {
            bytes.AddRange(outer.Gap);
        }
        marks.Add(new Mark(kind, MarkKind.SectionClose, null, at + bytes.Count));
        bytes.Add((byte)'}');
        return [.. bytes];
    }

    private static byte[] Name(string id)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, s_compact))
        {
            w.WriteStringValue(id);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A value as Owlbox's writer indents it, each line after the first moved to the entry's indentation (JSON
    /// strings hold no raw line break, so every one is the layout's).</summary>
    private static byte[] Render(Action<Utf8JsonWriter> write, Style style)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, style.Indented
            ? new JsonWriterOptions { Indented = true, NewLine = style.CrLf ? "\r\n" : "\n", Encoder = MinimalJsonEncoder.Instance }
            : s_compact))
        {
            write(w);
        }
        if (!style.Indented || style.Indent.Length == 0)
        {
            return buffer.WrittenSpan.ToArray();
        }
        var result = new List<byte>(buffer.WrittenCount + 64);
        foreach (var b in buffer.WrittenSpan)
        {
            result.Add(b);
            if (b == (byte)'\n')
            {
                result.AddRange(style.Indent);
            }
        }
        return [.. result];
    }

    /// <summary>The whitespace just before <paramref name="at"/> (the gap after the comma or brace before a name).</summary>
    private static byte[] GapBefore(Stream file, long at)
    {
        var from = Math.Max(0, at - 256);
        var bytes = new byte[at - from];
        file.Position = from;
        file.ReadExactly(bytes);
        var i = bytes.Length;
        while (i > 0 && bytes[i - 1] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i--;
        }
        return bytes[i..];
    }

    /// <summary>Where the value of the entry whose name starts at <paramref name="nameAt"/> starts and ends.</summary>
    private static (long Start, long End) ValueRange(Stream file, long nameAt)
    {
        for (var size = 4096; ; size *= 2)
        {
            var buffer = new byte[size + 1];
            buffer[0] = (byte)'{'; // the entry read as the first member of an object
            file.Position = nameAt;
            var n = file.ReadAtLeast(buffer.AsSpan(1), size, throwOnEndOfStream: false);
            var final = n < size;
            var reader = new Utf8JsonReader(buffer.AsSpan(0, n + 1), final, default);
            if (reader.Read() && reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.Read())
            {
                var start = reader.TokenStartIndex;
                if (reader.TokenType is not (JsonTokenType.StartArray or JsonTokenType.StartObject) || reader.TrySkip())
                {
                    return (nameAt + start - 1, nameAt + reader.BytesConsumed - 1);
                }
            }
            if (final)
            {
                throw new JsonException("the file ends inside an entry");
            }
        }
    }

    /// <summary>How the entries around a place are laid out, from the whitespace before one of them.</summary>
    private sealed record Style(byte[] Gap, bool Indented, bool CrLf, byte[] Indent)
    {
        public byte[] Colon => Indented ? ": "u8.ToArray() : ":"u8.ToArray();

        public static Style Of(byte[] gap)
        {
            var line = Array.LastIndexOf(gap, (byte)'\n');
            return line < 0
                ? new Style(gap, false, false, [])
                : new Style(gap, true, line > 0 && gap[line - 1] == (byte)'\r', gap[(line + 1)..]);
        }

        /// <summary>One level deeper (two spaces, as Owlbox indents); on one line, no gap at all.</summary>
        public Style Deeper()
        {
            if (!Indented)
            {
                return new Style([], false, false, []);
            }
            byte[] indent = [.. Indent, (byte)' ', (byte)' '];
            return new Style([.. CrLf ? "\r\n"u8 : "\n"u8, .. indent], true, CrLf, indent);
        }
    }
}

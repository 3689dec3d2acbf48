using System.Text.Json;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Local;

/// <summary>
/// An import's write: each sample named gets exactly the boxes given, its metadata kept, the bytes the same as
/// <see cref="LabelsFile.Update"/> with <see cref="LabelUpdate.ReplaceBoxes"/> would write (a kept box keeps its own
/// JSON; a sample left as it was is not touched; a sample written gets a metadata entry), in memory that does not grow
/// with the file nor the import beyond a byte a sample: 10^6 boxes as <see cref="LabelUpdate"/>s and their
/// before/after <see cref="SampleLabels"/> were several hundred MB. Three streamed reads of the labels file: one
/// finds which samples change (their boxes may be in either section's order), then the file is copied entry by entry
/// while a second reader, in step with the copy, hands over the changed samples' stored boxes and metadata.
/// The caller holds the dataset's write lock; a save by a program that does not take it (an editor) is noticed
/// before the rename and the write made again on top of it, as <see cref="LabelsFile.Update"/> does.
/// </summary>
public static class LabelsBulkReplace
{

    [Flags]
    private enum Stored : byte
    {
        None = 0,
        Boxes = 1,
        Metadata = 2,
        SameBoxes = 4,
    }

    /// <param name="path">The labels file (a symbolic link is written through).</param>
    /// <param name="samples">The samples and their new boxes, each named once; their order is the order new entries
    /// are appended in. A list is read when its sample is compared and when it is written: it may be a view made on
    /// demand.</param>
    /// <returns>How many samples were written (changed).</returns>
    public static int Replace(string path, IReadOnlyList<(string SampleId, IReadOnlyList<LabeledBox> Boxes)> samples)
    {
        var file = LabelsFile.ResolvePath(path);
        var positions = new Dictionary<string, int>(samples.Count, StringComparer.Ordinal);
        for (var i = 0; i < samples.Count; i++)
        {
            if (!positions.TryAdd(samples[i].SampleId, i))
            {
                throw new ArgumentException($"{samples[i].SampleId} is named twice", nameof(samples));
            }
        }
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var stamp = FileStamp.Of(file);
            var exists = File.Exists(file);
            var stored = new Stored[samples.Count];
            if (exists)
            {
                foreach (var entry in LabelsReader.ReadFile(file, path, positions.ContainsKey, checkAll: false, keepJson: false))
                {
                    var p = positions[entry.SampleId];
                    stored[p] |= entry.Boxes is { } boxes
                        ? Stored.Boxes | (boxes.SequenceEqual(samples[p].Boxes) ? Stored.SameBoxes : Stored.None)
                        : Stored.Metadata;
                }
            }
            var changed = new bool[samples.Count];
            var count = 0;
            for (var i = 0; i < samples.Count; i++)
            {
                changed[i] = Changes(stored[i], samples[i].Boxes.Count);
                count += changed[i] ? 1 : 0;
            }
            if (count == 0)
            {
                return 0;
            }
            AtomicFile.RemoveStale(file);
            if (AtomicFile.Write(file, stream => Write(stream, file, path, exists, samples, positions, stored, changed), () => FileStamp.Of(file) == stamp))
            {
                return count;
            }
        }
        throw new DatasetException($"{path} kept changing while Owlbox wrote it (another program saving it over and over?); nothing was written, try again");
    }

    /// <summary>Whether a sample's entries change: a sample the file lacks gets its entries (even with no box), one it
    /// has changes when its boxes differ (one with metadata but no boxes entry has none).</summary>
    private static bool Changes(Stored stored, int newBoxes) =>
        stored == Stored.None || ((stored & Stored.Boxes) != 0 ? (stored & Stored.SameBoxes) == 0 : newBoxes > 0);

    private static void Write(Stream stream, string file, string path, bool exists, IReadOnlyList<(string SampleId, IReadOnlyList<LabeledBox> Boxes)> samples,
        Dictionary<string, int> positions, Stored[] stored, bool[] changed)
    {
        FileStream? input = null;
        IEnumerator<LabelsEntry>? entries = null;
        try
        {
            var bom = false;
            if (exists)
            {
                input = LabelsEntryWriter.OpenRead(file, out bom);
                // In step with the copy below: both read the same bytes in order, so the next entry of a changed sample
                // this reader returns is the one the copy has reached.
                entries = LabelsReader.ReadFile(file, path, id => positions.TryGetValue(id, out var p) && changed[p], checkAll: false, keepJson: true)
                    .GetEnumerator();
            }
            if (bom)
            {
                stream.Write(LabelsEntryWriter.Bom);
            }
            var sections = new Sections(samples, positions, stored, changed, entries, path);
            using (var w = new Utf8JsonWriter(stream, LabelsEntryWriter.Options))
            {
                if (input is not null)
                {
                    using var tokens = new JsonTokenStream(input);
                    sections.Transform(tokens, w);
                }
                else
                {
                    LabelsEntryWriter.WriteNewFile(w, w => sections.Merge(null, w, LabelsSection.BoundingBoxes),
                        w => sections.Merge(null, w, LabelsSection.Metadata));
                }
            }
            stream.Write("\n"u8);
        }
        catch (JsonException e)
        {
            throw LabelsHeader.Invalid(path, e);
        }
        finally
        {
            entries?.Dispose();
            input?.Dispose();
        }
    }

    private sealed class Sections(IReadOnlyList<(string SampleId, IReadOnlyList<LabeledBox> Boxes)> samples, Dictionary<string, int> positions,
        Stored[] stored, bool[] changed, IEnumerator<LabelsEntry>? entries, string path)
    {
        public void Transform(JsonTokenStream tokens, Utf8JsonWriter w)
        {
            var header = new LabelsHeader(path);
            header.Root(tokens.Read() ? tokens.TokenType : JsonTokenType.None);
            w.WriteStartObject();
            while (tokens.Next() && tokens.TokenType == JsonTokenType.PropertyName)
            {
                var name = tokens.Value.ToArray();
                tokens.Next();
                var section = header.Property(System.Text.Encoding.UTF8.GetString(name), tokens.TokenType, tokens.Value);
                if (section == LabelsSection.Other)
                {
                    w.WritePropertyName(name);
                    tokens.CopyValue(w);
                }
                else
                {
                    Merge(tokens, w, section);
                }
            }
            header.End();
            if (!header.HasMetadata)
            {
                Merge(null, w, LabelsSection.Metadata);
            }
            w.WriteEndObject();
        }

        /// <summary>A section (positioned on its start when <paramref name="tokens"/> is given): entries not changed
        /// copied, changed ones replaced in place, then the changed samples it lacked appended in the import's order.</summary>
        public void Merge(JsonTokenStream? tokens, Utf8JsonWriter w, LabelsSection section)
        {
            var boxes = section == LabelsSection.BoundingBoxes;
            w.WriteStartObject(boxes ? "boundingBoxes" : "metadata");
            var lookup = positions.GetAlternateLookup<ReadOnlySpan<char>>();
            var chars = new char[256];
            while (tokens is not null && tokens.Next() && tokens.TokenType == JsonTokenType.PropertyName)
            {
                var utf8 = tokens.Value;
                if (chars.Length < utf8.Length)
                {
                    chars = new char[utf8.Length];
                }
                var sample = chars.AsSpan(0, System.Text.Encoding.UTF8.GetChars(utf8, chars));
                if (lookup.TryGetValue(sample, out var key, out var p) && changed[p])
                {
                    tokens.Next();
                    tokens.SkipValue();
                    var entry = entries!.MoveNext() && entries.Current.SampleId == key && (entries.Current.Boxes is not null) == boxes
                        ? entries.Current
                        : throw new InvalidOperationException($"the labels file's reader is out of step with its copy at {key}");
                    w.WritePropertyName(key);
                    if (boxes)
                    {
                        LabelsEntryWriter.WriteBoxes(w, samples[p].Boxes, entry.Boxes!, entry.BoxJson!);
                    }
                    else
                    {
                        LabelsEntryWriter.WriteMetadata(w, entry.Metadata!);
                    }
                }
                else
                {
                    w.WritePropertyName(utf8);
                    tokens.Next();
                    tokens.CopyValue(w);
                }
                if (w.BytesPending > 16 << 10)
                {
                    w.Flush(); // the writer's buffer kept small (off the large-object heap), as LabelsFile's is
                }
            }
            var had = boxes ? Stored.Boxes : Stored.Metadata;
            for (var p = 0; p < samples.Count; p++)
            {
                if (changed[p] && (stored[p] & had) == 0)
                {
                    w.WritePropertyName(samples[p].SampleId);
                    if (boxes)
                    {
                        LabelsEntryWriter.WriteBoxes(w, samples[p].Boxes, [], []);
                    }
                    else
                    {
                        LabelsEntryWriter.WriteMetadata(w, new Dictionary<string, string>());
                    }
                    if (w.BytesPending > 16 << 10)
                    {
                        w.Flush();
                    }
                }
            }
            w.WriteEndObject();
        }
    }
}

using System.Text.Json;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Local;

/// <summary>
/// Edge Impulse's <c>bounding_boxes.labels</c>: <c>{"version": 1, "type": "bounding-box-labels", "boundingBoxes":
/// {"&lt;image file name&gt;": [{label, x, y, width, height}]}}</c>. Owlbox adds a top-level <c>"metadata":
/// {"&lt;file&gt;": {key: value}}</c> (the uploader reads only the keys it knows) so boxes and metadata change in one
/// atomic write. The file stays as the user left it: keys and entries Owlbox does not touch are written back as they
/// were, a kept box keeps its own keys (<c>score</c>, <c>attributes</c>) and number text, text is not escaped beyond
/// what JSON needs, a byte-order mark stays, a symbolic link is written through and the file keeps its permissions.
/// </summary>
public sealed class LabelsFile
{
    public const string FileName = "bounding_boxes.labels";

    private readonly Dictionary<string, IReadOnlyList<LabeledBox>> _boxes;
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _metadata;

    private LabelsFile(Dictionary<string, IReadOnlyList<LabeledBox>> boxes, Dictionary<string, IReadOnlyDictionary<string, string>> metadata) =>
        (_boxes, _metadata) = (boxes, metadata);

    /// <summary>Reads and checks the whole file into a map of every sample's labels (a missing file is an empty one), by
    /// the one streaming reader (<see cref="LabelsReader"/>). For the callers that need every sample's labels at once;
    /// the others read entries as they come, or only <see cref="Check"/>. An invalid file stops the job before any
    /// work, because rewriting it would lose the user's labels.</summary>
    public static LabelsFile Load(string path)
    {
        var boxes = new Dictionary<string, IReadOnlyList<LabeledBox>>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var entry in LabelsReader.ReadFile(path))
        {
            if (entry.Boxes is { } b)
            {
                boxes.Add(entry.SampleId, b);
            }
            else
            {
                metadata.Add(entry.SampleId, entry.Metadata!);
            }
        }
        return new LabelsFile(boxes, metadata);
    }

    /// <summary>Reads and checks the whole file as <see cref="Load"/> does, holding none of it: a setup check whose
    /// memory does not grow with the file. The pass also indexes the file (<see cref="LabelsIndex"/>, 16 bytes a sample),
    /// so a job's writer reads its batches' samples, and its fold splices the file, without another pass. The fast pass
    /// (<see cref="LabelsCheck"/>: no object per entry, a sample twice found in the sorted index) decides a sound file;
    /// anything else is read again by <see cref="LabelsReader"/>, which names the problem.</summary>
    public static void Check(string path)
    {
        var file = ResolvePath(path);
        var stamp = FileStamp.Of(file);
        if (stamp.Exists && LabelsIndex.Checked(file, path, stamp) is { } sound)
        {
            LabelsIndex.Keep(sound);
            return;
        }
        // Not sound, or not for the fast pass to say: the one reader checks it, naming any problem.
        var index = new LabelsIndex.Builder();
        using (var entries = LabelsReader.ReadFile(file, path, _ => false, checkAll: true, keepJson: false, index).GetEnumerator())
        {
            while (entries.MoveNext())
            {
            }
        }
        LabelsIndex.Keep(index.Finish(file, stamp));
    }

    /// <summary>The image file names the file lists boxes for, in its order (a dictionary filled once, never
    /// removed from, enumerates in insertion order).</summary>
    public IEnumerable<string> FileNames => _boxes.Keys;

    public IReadOnlyList<LabeledBox> GetBoxes(string fileName) => _boxes.GetValueOrDefault(fileName) ?? [];

    public IReadOnlyDictionary<string, string>? GetMetadata(string fileName) => _metadata.GetValueOrDefault(fileName);

    /// <summary>The file <paramref name="path"/> names: the final target when it is a symbolic link (written through,
    /// never replaced by a plain file). A dangling link or a folder in its place is refused.</summary>
    public static string ResolvePath(string path)
    {
        var info = new FileInfo(path);
        if (Directory.Exists(path))
        {
            throw new DatasetException($"{path} is a folder; Owlbox expects the labels file there");
        }
        if (info.LinkTarget is null)
        {
            return info.FullName;
        }
        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        return target is { Exists: true } && !Directory.Exists(target.FullName)
            ? target.FullName
            : throw new DatasetException($"{path} is a symbolic link to '{info.LinkTarget}', which does not exist; fix or remove the link");
    }

    /// <summary>Sets whole samples: each write replaces the sample's boxes and metadata.</summary>
    public static void Rewrite(string path, IReadOnlyList<LabelWrite> writes) => Update(path, writes.Select(LabelUpdate.Set).ToArray());

    /// <summary>
    /// Reads the samples' current labels from the file, applies each update's edit to them (in order: a later
    /// update of a sample sees the earlier one's result) and rewrites the file once when anything changed. The
    /// caller holds the dataset's write lock, so no Owlbox writer changes the file between the read and the rename;
    /// a save by a program that does not take the lock (an editor) is noticed before the rename, and the update is
    /// made again on top of it, so that save is kept. Edits may therefore run more than once.
    /// </summary>
    /// <returns>What the rewrite changed, per sample written: the boxes added and removed as the file had them.</returns>
    public static IReadOnlyList<SampleChange> Update(string path, IReadOnlyList<LabelUpdate> updates)
    {
        var file = ResolvePath(path);
        var ids = updates.Select(u => u.SampleId).ToHashSet(StringComparer.Ordinal);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var stamp = Stamp(file);
            // The file's index, when it is of this version, says where the samples are: read there, and the new version
            // is spliced from this one (LabelsSplice); otherwise a scan, and a rewrite token by token.
            var index = File.Exists(file) && LabelsIndex.For(file, path) is { } indexed && indexed.Stamp == stamp ? indexed : null;
            var located = index?.Locate(ids, path, keepJson: true);
            var stored = located is not null ? Collect(located.Select(l => l.Entry))
                : File.Exists(file) ? ReadSamples(file, path, ids)
                : [];
            var changes = new Dictionary<string, Change>(StringComparer.Ordinal);
            foreach (var u in updates)
            {
                stored.TryGetValue(u.SampleId, out var was);
                var current = changes.TryGetValue(u.SampleId, out var c) ? c.Labels : was?.Labels ?? SampleLabels.Empty;
                if (u.Edit(current) is not { } next)
                {
                    continue;
                }
                if (was is not null && next.SameAs(was.Labels))
                {
                    changes.Remove(u.SampleId); // nothing to write: a redelivered result, or one already applied
                }
                else
                {
                    changes[u.SampleId] = new Change(next, was?.Boxes ?? [], was?.Labels ?? SampleLabels.Empty);
                }
            }
            if (changes.Count == 0)
            {
                return [];
            }
            AtomicFile.RemoveStale(file);
            var written = located is not null
                ? Splice(file, path, index!, located, changes, () => Stamp(file) == stamp)
                : Write(file, path, changes, () => Stamp(file) == stamp);
            if (written)
            {
                return changes.Select(c => SampleChange.Between(c.Key, c.Value.Before, c.Value.Labels)).ToArray();
            }
        }
        throw new DatasetException($"{path} kept changing while Owlbox wrote it (another program saving it over and over?); nothing was written, try again");
    }

    /// <summary>What tells a save apart (<see cref="FileStamp"/>).</summary>
    private static FileStamp Stamp(string file) => FileStamp.Of(file);

    /// <summary>The current labels of the samples named: read where the file's index says they are (the cost is the
    /// samples', not the file's; <see cref="LabelsIndex"/>), or by streaming the file when it cannot say (constant
    /// memory).</summary>
    public static IReadOnlyDictionary<string, SampleLabels> Read(string path, IReadOnlyCollection<string> sampleIds)
    {
        var file = ResolvePath(path);
        var ids = sampleIds.ToHashSet(StringComparer.Ordinal);
        var stored = !File.Exists(file) ? []
            : LabelsIndex.For(file, path)?.Read(ids, path) is { } indexed ? Collect(indexed)
            : ReadSamples(file, path, ids);
        return ids.ToDictionary(id => id, id => stored.TryGetValue(id, out var s) ? s.Labels : SampleLabels.Empty, StringComparer.Ordinal);
    }

    /// <summary>A box as the file holds it: its value and its own JSON (extra keys and number text included).</summary>
    private sealed record StoredBox(LabeledBox Box, byte[] Json);

    private sealed record StoredSample(SampleLabels Labels, IReadOnlyList<StoredBox> Boxes);

    private sealed record Change(SampleLabels Labels, IReadOnlyList<StoredBox> Stored, SampleLabels Before);

    /// <summary>The samples named, with each box's own JSON; the other entries are passed over unchecked (the file was
    /// checked when the job started, and the rewrite checks its shape).</summary>
    private static Dictionary<string, StoredSample> ReadSamples(string file, string path, HashSet<string> ids) =>
        Collect(LabelsReader.ReadFile(file, path, ids.Contains, checkAll: false, keepJson: true));

    /// <summary>Entries as read (each box's JSON when kept) into each sample's labels.</summary>
    private static Dictionary<string, StoredSample> Collect(IEnumerable<LabelsEntry> entries)
    {
        var boxes = new Dictionary<string, List<StoredBox>>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Boxes is { } b)
            {
                boxes.Add(entry.SampleId, entry.BoxJson is { } json
                    ? b.Zip(json, (box, j) => new StoredBox(box, j)).ToList()
                    : b.Select(box => new StoredBox(box, [])).ToList());
            }
            else
            {
                metadata.Add(entry.SampleId, entry.Metadata!);
            }
        }
        var samples = new Dictionary<string, StoredSample>(StringComparer.Ordinal);
        foreach (var id in boxes.Keys.Union(metadata.Keys))
        {
            var stored = boxes.GetValueOrDefault(id) ?? [];
            samples[id] = new StoredSample(
                new SampleLabels(stored.Select(b => b.Box).ToArray(), metadata.GetValueOrDefault(id) ?? new Dictionary<string, string>(StringComparer.Ordinal)),
                stored);
        }
        return samples;
    }

    /// <summary>Streams the file into its replacement, every entry not changed copied token by token (constant memory
    /// whatever the dataset's size), the file's shape checked as it goes: an invalid file is left as it was.</summary>
    private static bool Write(string file, string path, Dictionary<string, Change> changes, Func<bool> stillCurrent)
    {
        var exists = File.Exists(file);
        return AtomicFile.Write(file, stream =>
        {
            FileStream? input = null;
            try
            {
                var bom = false;
                if (exists)
                {
                    input = LabelsEntryWriter.OpenRead(file, out bom);
                }
                if (bom)
                {
                    stream.Write(LabelsEntryWriter.Bom);
                }
                using (var w = new Utf8JsonWriter(stream, LabelsEntryWriter.Options))
                {
                    if (input is not null)
                    {
                        using var tokens = new JsonTokenStream(input);
                        Transform(tokens, w, changes, path);
                    }
                    else
                    {
                        LabelsEntryWriter.WriteNewFile(w, w => WriteMerged(null, w, "boundingBoxes", changes, WriteBoxes),
                            w => WriteMerged(null, w, "metadata", changes, WriteMetadata));
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
                input?.Dispose();
            }
        }, stillCurrent);
    }

    /// <summary>The new version spliced from the current one (<see cref="LabelsSplice"/>): the bytes of every entry not
    /// changed copied as they are, without parsing them again; the layout and where the changed samples' entries are come
    /// from the index of this very version (its stamp checked by the caller), which a streaming pass checked.</summary>
    private static bool Splice(string file, string path, LabelsIndex index, IReadOnlyList<(long Offset, LabelsEntry Entry)> located,
        Dictionary<string, Change> changes, Func<bool> stillCurrent)
    {
        var layout = index.Layout;
        var boxesAt = new Dictionary<string, long>(StringComparer.Ordinal);
        var metadataAt = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (offset, entry) in located)
        {
            (entry.Boxes is not null ? boxesAt : metadataAt)[entry.SampleId] = offset;
        }
        var samples = changes.Select(c => new SplicedSample(c.Key, boxesAt.GetValueOrDefault(c.Key, -1), metadataAt.GetValueOrDefault(c.Key, -1),
            w => WriteBoxes(w, c.Value), w => WriteMetadata(w, c.Value))).ToArray();
        IReadOnlyList<LabelsSplice.Edit> edits = [];
        FileStamp? written = null;
        try
        {
            if (!AtomicFile.Write(file, stream =>
            {
                using var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                edits = LabelsSplice.Plan(input, layout, samples);
                LabelsSplice.Apply(input, edits, stream);
                stream.Flush();
                // The rename keeps the file (its times, its size): this is the new version's stamp, whatever comes after.
                written = stream is FileStream temp ? FileStamp.Of(temp.Name) : null;
            }, stillCurrent))
            {
                return false;
            }
        }
        catch (Exception e) when (e is JsonException or EndOfStreamException)
        {
            // The bytes are not where the index of this version says: the file was saved over in place meanwhile (its
            // stamp then differs, and the update is made again on the new version), or the stamp was fooled: rewrite it
            // whole, token by token, which checks its shape as it goes.
            return stillCurrent() && Write(file, path, changes, stillCurrent);
        }
        if (written is { } stamp)
        {
            LabelsIndex.Keep(index.Spliced(stamp, edits));
        }
        return true;
    }

    private static void Transform(JsonTokenStream tokens, Utf8JsonWriter w, Dictionary<string, Change> changes, string path)
    {
        var header = new LabelsHeader(path);
        header.Root(tokens.Read() ? tokens.TokenType : JsonTokenType.None);
        w.WriteStartObject();
        while (tokens.Next() && tokens.TokenType == JsonTokenType.PropertyName)
        {
            var name = tokens.Value.ToArray();
            tokens.Next();
            switch (header.Property(System.Text.Encoding.UTF8.GetString(name), tokens.TokenType, tokens.Value))
            {
                case LabelsSection.BoundingBoxes:
                    WriteMerged(tokens, w, "boundingBoxes", changes, WriteBoxes);
                    break;
                case LabelsSection.Metadata:
                    WriteMerged(tokens, w, "metadata", changes, WriteMetadata);
                    break;
                default:
                    w.WritePropertyName(name);
                    tokens.CopyValue(w);
                    break;
            }
        }
        header.End();
        if (!header.HasMetadata)
        {
            WriteMerged(null, w, "metadata", changes, WriteMetadata);
        }
        w.WriteEndObject();
    }

    /// <summary>An object of per-sample entries (positioned on its start when <paramref name="tokens"/> is given):
    /// existing entries copied or replaced in place, new ones appended.</summary>
    private static void WriteMerged(JsonTokenStream? tokens, Utf8JsonWriter w, string name, Dictionary<string, Change> changes,
        Action<Utf8JsonWriter, Change> writeEntry)
    {
        w.WriteStartObject(name);
        var written = new HashSet<string>(StringComparer.Ordinal);
        var lookup = changes.GetAlternateLookup<ReadOnlySpan<char>>();
        var chars = new char[256];
        while (tokens is not null && tokens.Next() && tokens.TokenType == JsonTokenType.PropertyName)
        {
            var utf8 = tokens.Value;
            if (chars.Length < utf8.Length)
            {
                chars = new char[utf8.Length];
            }
            var sample = chars.AsSpan(0, System.Text.Encoding.UTF8.GetChars(utf8, chars));
            if (lookup.TryGetValue(sample, out var key, out var change))
            {
                tokens.Next();
                tokens.SkipValue();
                if (written.Add(key))
                {
                    w.WritePropertyName(key);
                    writeEntry(w, change);
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
                // The writer buffers everything until flushed (a whole file's bytes otherwise); flushing at 16 KB keeps
                // its buffer off the large-object heap, whose garbage only a full collection clears.
                w.Flush();
            }
        }
        foreach (var (sample, change) in changes)
        {
            if (!written.Contains(sample))
            {
                w.WritePropertyName(sample);
                writeEntry(w, change);
            }
        }
        w.WriteEndObject();
    }

    private static void WriteBoxes(Utf8JsonWriter w, Change change) =>
        LabelsEntryWriter.WriteBoxes(w, change.Labels.Boxes, change.Stored.Select(s => s.Box).ToArray(), change.Stored.Select(s => s.Json).ToArray());

    private static void WriteMetadata(Utf8JsonWriter w, Change change) => LabelsEntryWriter.WriteMetadata(w, change.Labels.Metadata);
}

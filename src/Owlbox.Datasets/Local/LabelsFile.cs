using System.Buffers;
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
    private static readonly JsonWriterOptions s_writer = new() { Indented = true, Encoder = MinimalJsonEncoder.Instance };
    private static readonly JsonDocumentOptions s_document = new() { AllowDuplicateProperties = false };
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    private readonly JsonElement _boxes;
    private readonly JsonElement? _metadata;

    private LabelsFile(JsonElement boxes, JsonElement? metadata) => (_boxes, _metadata) = (boxes, metadata);

    /// <summary>Reads and validates the whole file; a missing file is an empty one. An invalid file stops the job
    /// before any work, because rewriting it would lose the user's labels.</summary>
    public static LabelsFile Load(string path)
    {
        var file = ResolvePath(path);
        if (!File.Exists(file))
        {
            using var empty = JsonDocument.Parse("{}");
            return new LabelsFile(empty.RootElement.Clone(), null);
        }
        JsonElement root;
        try
        {
            // ReadAllText drops a byte-order mark.
            using var document = JsonDocument.Parse(File.ReadAllText(file), s_document);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw Invalid(path, e);
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new DatasetException($"{path} must be a JSON object");
        }
        if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number
            || !version.TryGetInt32(out var v) || v != 1 || version.GetRawText() != "1")
        {
            throw new DatasetException($"{path}: \"version\" must be 1");
        }
        if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "bounding-box-labels")
        {
            throw new DatasetException($"{path}: \"type\" must be \"bounding-box-labels\"");
        }
        if (!root.TryGetProperty("boundingBoxes", out var boxes) || boxes.ValueKind != JsonValueKind.Object)
        {
            throw new DatasetException($"{path}: \"boundingBoxes\" must be an object mapping image file names to box lists");
        }
        foreach (var entry in boxes.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Array)
            {
                throw new DatasetException($"{path}: boundingBoxes[\"{entry.Name}\"] must be an array");
            }
            var i = 0;
            foreach (var box in entry.Value.EnumerateArray())
            {
                _ = ParseBox(box, $"{path}: boundingBoxes[\"{entry.Name}\"][{i++}]");
            }
        }
        JsonElement? metadata = null;
        if (root.TryGetProperty("metadata", out var meta))
        {
            if (meta.ValueKind != JsonValueKind.Object)
            {
                throw new DatasetException($"{path}: \"metadata\" must be an object mapping image file names to key/value objects");
            }
            foreach (var entry in meta.EnumerateObject())
            {
                _ = ParseMetadata(entry.Value, $"{path}: metadata[\"{entry.Name}\"]");
            }
            metadata = meta;
        }
        return new LabelsFile(boxes, metadata);
    }

    /// <summary>The image file names the file lists boxes for, in its order.</summary>
    public IEnumerable<string> FileNames => _boxes.EnumerateObject().Select(e => e.Name);

    public IReadOnlyList<LabeledBox> GetBoxes(string fileName) =>
        _boxes.TryGetProperty(fileName, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select((b, i) => ParseBox(b, $"boundingBoxes[\"{fileName}\"][{i}]")).ToArray()
            : [];

    public IReadOnlyDictionary<string, string>? GetMetadata(string fileName) =>
        _metadata is { } meta && meta.TryGetProperty(fileName, out var entry) ? ParseMetadata(entry, $"metadata[\"{fileName}\"]") : null;

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
            var stored = File.Exists(file) ? ReadSamples(file, path, ids) : [];
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
            if (Write(file, path, changes, () => Stamp(file) == stamp))
            {
                return changes.Select(c => SampleChange.Between(c.Key, c.Value.Before, c.Value.Labels)).ToArray();
            }
        }
        throw new DatasetException($"{path} kept changing while Owlbox wrote it (another program saving it over and over?); nothing was written, try again");
    }

    /// <summary>What tells a save apart: the time of the last write (to the tick) and the size.</summary>
    private static (DateTime, long) Stamp(string file)
    {
        var info = new FileInfo(file);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    /// <summary>The current labels of the samples named, read by streaming the file (constant memory).</summary>
    public static IReadOnlyDictionary<string, SampleLabels> Read(string path, IReadOnlyCollection<string> sampleIds)
    {
        var file = ResolvePath(path);
        var ids = sampleIds.ToHashSet(StringComparer.Ordinal);
        var stored = File.Exists(file) ? ReadSamples(file, path, ids) : [];
        return ids.ToDictionary(id => id, id => stored.TryGetValue(id, out var s) ? s.Labels : SampleLabels.Empty, StringComparer.Ordinal);
    }

    /// <summary>A box as the file holds it: its value and its own JSON (extra keys and number text included).</summary>
    private sealed record StoredBox(LabeledBox Box, byte[] Json);

    private sealed record StoredSample(SampleLabels Labels, IReadOnlyList<StoredBox> Boxes);

    private sealed record Change(SampleLabels Labels, IReadOnlyList<StoredBox> Stored, SampleLabels Before);

    private static Dictionary<string, StoredSample> ReadSamples(string file, string path, HashSet<string> ids)
    {
        var boxes = new Dictionary<string, List<StoredBox>>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        try
        {
            using var input = OpenRead(file, out _);
            using var tokens = new JsonTokenStream(input);
            if (!tokens.Read() || tokens.TokenType != JsonTokenType.StartObject)
            {
                throw new DatasetException($"{path} must be a JSON object");
            }
            var scratch = new ArrayBufferWriter<byte>();
            while (tokens.Next() && tokens.TokenType == JsonTokenType.PropertyName)
            {
                var section = tokens.Value.SequenceEqual("boundingBoxes"u8) ? 1 : tokens.Value.SequenceEqual("metadata"u8) ? 2 : 0;
                tokens.Next();
                if (section == 0 || tokens.TokenType != JsonTokenType.StartObject)
                {
                    tokens.SkipValue(); // the rewrite checks the file's shape
                    continue;
                }
                while (tokens.Next() && tokens.TokenType == JsonTokenType.PropertyName)
                {
                    var sample = System.Text.Encoding.UTF8.GetString(tokens.Value);
                    tokens.Next();
                    if (!ids.Contains(sample))
                    {
                        tokens.SkipValue();
                        continue;
                    }
                    scratch.ResetWrittenCount();
                    using (var w = new Utf8JsonWriter(scratch))
                    {
                        tokens.CopyValue(w);
                    }
                    using var value = JsonDocument.Parse(scratch.WrittenMemory);
                    var where = $"{path}: {(section == 1 ? "boundingBoxes" : "metadata")}[\"{sample}\"]";
                    var fresh = section == 1
                        ? boxes.TryAdd(sample, ParseStoredBoxes(value.RootElement, where))
                        : metadata.TryAdd(sample, ParseMetadata(value.RootElement, where));
                    if (!fresh)
                    {
                        throw new DatasetException($"{where} appears twice; remove one, Owlbox will not guess which is meant");
                    }
                }
            }
        }
        catch (JsonException e)
        {
            throw Invalid(path, e);
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

    private static List<StoredBox> ParseStoredBoxes(JsonElement list, string where)
    {
        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new DatasetException($"{where} must be an array");
        }
        return list.EnumerateArray().Select((b, i) => new StoredBox(ParseBox(b, $"{where}[{i}]"), System.Text.Encoding.UTF8.GetBytes(b.GetRawText()))).ToList();
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
                    input = OpenRead(file, out bom);
                }
                if (bom)
                {
                    stream.Write(Bom);
                }
                using (var w = new Utf8JsonWriter(stream, s_writer))
                {
                    if (input is not null)
                    {
                        using var tokens = new JsonTokenStream(input);
                        Transform(tokens, w, changes, path);
                    }
                    else
                    {
                        w.WriteStartObject();
                        w.WriteNumber("version", 1);
                        w.WriteString("type", "bounding-box-labels");
                        WriteMerged(null, w, "boundingBoxes", changes, WriteBoxes);
                        WriteMerged(null, w, "metadata", changes, WriteMetadata);
                        w.WriteEndObject();
                    }
                }
                stream.Write("\n"u8);
            }
            catch (JsonException e)
            {
                throw Invalid(path, e);
            }
            finally
            {
                input?.Dispose();
            }
        }, stillCurrent);
    }

    private static FileStream OpenRead(string file, out bool bom)
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

    private static void Transform(JsonTokenStream tokens, Utf8JsonWriter w, Dictionary<string, Change> changes, string path)
    {
        if (!tokens.Read() || tokens.TokenType != JsonTokenType.StartObject)
        {
            throw new DatasetException($"{path} must be a JSON object");
        }
        w.WriteStartObject();
        var (version, type, boxes, metadata) = (false, false, false, false);
        while (tokens.Next() && tokens.TokenType == JsonTokenType.PropertyName)
        {
            var name = tokens.Value.ToArray();
            tokens.Next();
            if (name.AsSpan().SequenceEqual("version"u8))
            {
                version = !version && tokens.TokenType == JsonTokenType.Number && tokens.Value.SequenceEqual("1"u8)
                    ? true : throw new DatasetException($"{path}: \"version\" must be 1");
            }
            else if (name.AsSpan().SequenceEqual("type"u8))
            {
                type = !type && tokens.TokenType == JsonTokenType.String && tokens.Value.SequenceEqual("bounding-box-labels"u8)
                    ? true : throw new DatasetException($"{path}: \"type\" must be \"bounding-box-labels\"");
            }
            else if (name.AsSpan().SequenceEqual("boundingBoxes"u8))
            {
                boxes = !boxes && tokens.TokenType == JsonTokenType.StartObject
                    ? true : throw new DatasetException($"{path}: \"boundingBoxes\" must be an object mapping image file names to box lists");
                WriteMerged(tokens, w, "boundingBoxes", changes, WriteBoxes);
                continue;
            }
            else if (name.AsSpan().SequenceEqual("metadata"u8))
            {
                metadata = !metadata && tokens.TokenType == JsonTokenType.StartObject
                    ? true : throw new DatasetException($"{path}: \"metadata\" must be an object mapping image file names to key/value objects");
                WriteMerged(tokens, w, "metadata", changes, WriteMetadata);
                continue;
            }
            w.WritePropertyName(name);
            tokens.CopyValue(w);
        }
        if (!version)
        {
            throw new DatasetException($"{path}: \"version\" must be 1");
        }
        if (!type)
        {
            throw new DatasetException($"{path}: \"type\" must be \"bounding-box-labels\"");
        }
        if (!boxes)
        {
            throw new DatasetException($"{path}: \"boundingBoxes\" must be an object mapping image file names to box lists");
        }
        if (!metadata)
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

    /// <summary>A box the sample already had is written back as the file had it (its extra keys, its number text);
    /// a new box with the five keys Edge Impulse reads, and its <c>score</c> when a model made it.</summary>
    private static void WriteBoxes(Utf8JsonWriter w, Change change)
    {
        var stored = change.Stored.ToList();
        w.WriteStartArray();
        foreach (var b in change.Labels.Boxes)
        {
            var i = stored.FindIndex(s => s.Box == b);
            if (i >= 0)
            {
                using var json = JsonDocument.Parse(stored[i].Json);
                json.RootElement.WriteTo(w);
                stored.RemoveAt(i);
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
    private static void WriteMetadata(Utf8JsonWriter w, Change change)
    {
        w.WriteStartObject();
        foreach (var (k, v) in change.Labels.Metadata)
        {
            w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement entry, string where)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw new DatasetException($"{where} must be an object of key/value pairs");
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in entry.EnumerateObject())
        {
            result[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => p.Value.GetRawText(),
                JsonValueKind.Null => "",
                _ => throw new DatasetException($"{where}[\"{p.Name}\"] must be a string (Edge Impulse metadata values are text)"),
            };
        }
        return result;
    }

    private static LabeledBox ParseBox(JsonElement o, string where)
    {
        if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("label", out var label) || label.ValueKind != JsonValueKind.String)
        {
            throw new DatasetException($"{where} must be an object with a string \"label\"");
        }
        int Coordinate(string name)
        {
            if (!o.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number)
            {
                throw new DatasetException($"{where}: \"{name}\" must be a number");
            }
            // Edge Impulse stores integers; other tools may have written fractions, rounded here (BoxRules: the rule
            // every importer checks against too).
            return value.TryGetDouble(out var d) && BoxRules.Pixel(d) is { } pixel
                ? pixel
                : throw new DatasetException($"{where}: \"{name}\" is out of range");
        }
        double? score = o.TryGetProperty("score", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetDouble(out var sd) ? sd : null;
        var box = new LabeledBox(label.GetString()!, Coordinate("x"), Coordinate("y"), Coordinate("width"), Coordinate("height")) { Score = score };
        if (BoxRules.Problem(box.X, box.Y, box.Width, box.Height) is { } problem)
        {
            throw new DatasetException($"{where}: {problem}");
        }
        return box;
    }

    private static DatasetException Invalid(string path, JsonException e) =>
        new($"{path} is not valid JSON ({e.Message}); fix or remove it, Owlbox will not overwrite it", e);
}

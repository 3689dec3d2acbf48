using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Local;

/// <summary>
/// Edge Impulse's <c>bounding_boxes.labels</c>: <c>{"version": 1, "type": "bounding-box-labels", "boundingBoxes":
/// {"&lt;image file name&gt;": [{label, x, y, width, height}]}}</c>. Owlbox adds a top-level <c>"metadata":
/// {"&lt;file&gt;": {key: value}}</c> (the uploader reads only the keys it knows) so boxes and metadata change in one
/// atomic write. Keys and entries Owlbox does not touch are written back as they were.
/// </summary>
public sealed class LabelsFile
{
    public const string FileName = "bounding_boxes.labels";
    private readonly JsonObject _root;

    private LabelsFile(JsonObject root) => _root = root;

    public static LabelsFile Empty() => new(new JsonObject
    {
        ["version"] = 1,
        ["type"] = "bounding-box-labels",
        ["boundingBoxes"] = new JsonObject(),
    });

    /// <summary>Reads and validates the file; a missing file is an empty one. An invalid file stops the job before
    /// any work, because rewriting it would lose the user's labels.</summary>
    public static LabelsFile Load(string path)
    {
        if (!File.Exists(path))
        {
            return Empty();
        }
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{path} is not valid JSON ({e.Message}); fix or remove it, Owlbox will not overwrite it", e);
        }
        if (node is not JsonObject root)
        {
            throw new DatasetException($"{path} must be a JSON object");
        }
        if (root["version"]?.GetValueKind() != JsonValueKind.Number || root["version"]!.GetValue<int>() != 1)
        {
            throw new DatasetException($"{path}: \"version\" must be 1");
        }
        if (root["type"]?.GetValueKind() != JsonValueKind.String || root["type"]!.GetValue<string>() != "bounding-box-labels")
        {
            throw new DatasetException($"{path}: \"type\" must be \"bounding-box-labels\"");
        }
        if (root["boundingBoxes"] is not JsonObject boxes)
        {
            throw new DatasetException($"{path}: \"boundingBoxes\" must be an object mapping image file names to box lists");
        }
        foreach (var (file, list) in boxes)
        {
            if (list is not JsonArray array)
            {
                throw new DatasetException($"{path}: boundingBoxes[\"{file}\"] must be an array");
            }
            for (var i = 0; i < array.Count; i++)
            {
                _ = ParseBox(array[i], $"{path}: boundingBoxes[\"{file}\"][{i}]");
            }
        }
        return new LabelsFile(root);
    }

    public IReadOnlyList<LabeledBox> GetBoxes(string fileName)
    {
        if (_root["boundingBoxes"]![fileName] is not JsonArray array)
        {
            return [];
        }
        return array.Select((b, i) => ParseBox(b, $"boundingBoxes[\"{fileName}\"][{i}]")).ToArray();
    }

    public IReadOnlyDictionary<string, string>? GetMetadata(string fileName)
    {
        if (_root["metadata"]?[fileName] is not JsonObject meta)
        {
            return null;
        }
        return meta.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "", StringComparer.Ordinal);
    }

    /// <summary>
    /// Writes boxes and metadata for some samples into the file at <paramref name="path"/>, streaming every other
    /// entry through token by token (<see cref="JsonTokenStream"/>): the writer rewrites the file once per batch, and
    /// holding the whole file (as objects, or even as a parsed document) made memory and garbage grow with the
    /// dataset. The file is checked as it streams; an invalid one is left as it was. The one way Owlbox writes it.
    /// </summary>
    public static void Rewrite(string path, IReadOnlyList<LabelWrite> writes)
    {
        var updates = new Dictionary<string, SampleLabels>(StringComparer.Ordinal);
        foreach (var w in writes)
        {
            updates[w.SampleId] = w.Labels; // the last write of a sample wins
        }
        AtomicFile.Write(path, stream =>
        {
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                if (File.Exists(path))
                {
                    using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                    using var tokens = new JsonTokenStream(input);
                    try
                    {
                        Transform(tokens, w, updates, path);
                    }
                    catch (JsonException e)
                    {
                        throw new DatasetException($"{path} is not valid JSON ({e.Message}); fix or remove it, Owlbox will not overwrite it", e);
                    }
                }
                else
                {
                    w.WriteStartObject();
                    w.WriteNumber("version", 1);
                    w.WriteString("type", "bounding-box-labels");
                    WriteMerged(null, w, "boundingBoxes", updates, WriteBoxes);
                    WriteMerged(null, w, "metadata", updates, WriteMetadata);
                    w.WriteEndObject();
                }
            }
            stream.Write("\n"u8);
        });
    }

    private static void Transform(JsonTokenStream tokens, Utf8JsonWriter w, Dictionary<string, SampleLabels> updates, string path)
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
                version = tokens.TokenType == JsonTokenType.Number && System.Buffers.Text.Utf8Parser.TryParse(tokens.Value, out int v, out var used) && used == tokens.Value.Length && v == 1
                    ? true : throw new DatasetException($"{path}: \"version\" must be 1");
            }
            else if (name.AsSpan().SequenceEqual("type"u8))
            {
                type = tokens.TokenType == JsonTokenType.String && tokens.Value.SequenceEqual("bounding-box-labels"u8)
                    ? true : throw new DatasetException($"{path}: \"type\" must be \"bounding-box-labels\"");
            }
            else if (name.AsSpan().SequenceEqual("boundingBoxes"u8))
            {
                boxes = tokens.TokenType == JsonTokenType.StartObject
                    ? true : throw new DatasetException($"{path}: \"boundingBoxes\" must be an object mapping image file names to box lists");
                WriteMerged(tokens, w, "boundingBoxes", updates, WriteBoxes);
                continue;
            }
            else if (name.AsSpan().SequenceEqual("metadata"u8))
            {
                metadata = tokens.TokenType == JsonTokenType.StartObject
                    ? true : throw new DatasetException($"{path}: \"metadata\" must be an object mapping image file names to key/value objects");
                WriteMerged(tokens, w, "metadata", updates, WriteMetadata);
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
            WriteMerged(null, w, "metadata", updates, WriteMetadata);
        }
        w.WriteEndObject();
    }

    /// <summary>An object of per-sample entries (positioned on its start when <paramref name="tokens"/> is given):
    /// existing entries copied or replaced in place, new ones appended.</summary>
    private static void WriteMerged(JsonTokenStream? tokens, Utf8JsonWriter w, string name, Dictionary<string, SampleLabels> updates,
        Action<Utf8JsonWriter, SampleLabels> writeEntry)
    {
        w.WriteStartObject(name);
        var written = new HashSet<string>(StringComparer.Ordinal);
        var lookup = updates.GetAlternateLookup<ReadOnlySpan<char>>();
        var chars = new char[256];
        while (tokens is not null && tokens.Next() && tokens.TokenType == JsonTokenType.PropertyName)
        {
            var utf8 = tokens.Value;
            if (chars.Length < utf8.Length)
            {
                chars = new char[utf8.Length];
            }
            var sample = chars.AsSpan(0, System.Text.Encoding.UTF8.GetChars(utf8, chars));
            if (lookup.TryGetValue(sample, out var key, out var labels))
            {
                tokens.Next();
                tokens.SkipValue();
                if (written.Add(key))
                {
                    w.WritePropertyName(key);
                    writeEntry(w, labels);
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
        foreach (var (sample, labels) in updates)
        {
            if (!written.Contains(sample))
            {
                w.WritePropertyName(sample);
                writeEntry(w, labels);
            }
        }
        w.WriteEndObject();
    }

    private static void WriteBoxes(Utf8JsonWriter w, SampleLabels labels)
    {
        w.WriteStartArray();
        foreach (var b in labels.Boxes)
        {
            w.WriteStartObject();
            w.WriteString("label", b.Label);
            w.WriteNumber("x", b.X);
            w.WriteNumber("y", b.Y);
            w.WriteNumber("width", b.Width);
            w.WriteNumber("height", b.Height);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteMetadata(Utf8JsonWriter w, SampleLabels labels)
    {
        w.WriteStartObject();
        foreach (var (k, v) in labels.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    private static LabeledBox ParseBox(JsonNode? node, string where)
    {
        if (node is not JsonObject o || o["label"]?.GetValueKind() != JsonValueKind.String)
        {
            throw new DatasetException($"{where} must be an object with a string \"label\"");
        }
        int Coordinate(string name)
        {
            if (o[name]?.GetValueKind() != JsonValueKind.Number)
            {
                throw new DatasetException($"{where}: \"{name}\" must be a number");
            }
            // Edge Impulse stores integers; other tools may have written fractions, rounded here.
            return (int)Math.Round(o[name]!.GetValue<double>(), MidpointRounding.AwayFromZero);
        }
        var box = new LabeledBox(o["label"]!.GetValue<string>(), Coordinate("x"), Coordinate("y"), Coordinate("width"), Coordinate("height"));
        if (box.Width <= 0 || box.Height <= 0)
        {
            throw new DatasetException($"{where}: width and height must be positive, got {box.Width.ToString(CultureInfo.InvariantCulture)}x{box.Height.ToString(CultureInfo.InvariantCulture)}");
        }
        return box;
    }
}

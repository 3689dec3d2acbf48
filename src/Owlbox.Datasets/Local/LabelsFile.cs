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
    /// Writes boxes and metadata for some samples into the file at <paramref name="path"/>, copying every other entry
    /// through from a pooled <see cref="JsonDocument"/> instead of building the whole file as objects: the writer
    /// rewrites the file once per batch, so on a 10k-sample dataset the object model made every batch allocate tens of
    /// megabytes (and peak memory grow with the dataset). The one way Owlbox writes the file.
    /// </summary>
    public static void Rewrite(string path, IReadOnlyList<LabelWrite> writes)
    {
        var updates = new Dictionary<string, SampleLabels>(StringComparer.Ordinal);
        foreach (var w in writes)
        {
            updates[w.SampleId] = w.Labels; // the last write of a sample wins
        }
        using var existing = File.Exists(path) ? ParseDocument(path) : null;
        var root = existing?.RootElement;
        if (root is { } r)
        {
            _ = ValidatedBoxes(r, path);
        }
        AtomicFile.Write(path, stream =>
        {
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                var wroteMetadata = false;
                if (root is not { } doc)
                {
                    w.WriteNumber("version", 1);
                    w.WriteString("type", "bounding-box-labels");
                    WriteMerged(w, "boundingBoxes", null, updates, WriteBoxes);
                }
                else
                {
                    foreach (var property in doc.EnumerateObject())
                    {
                        if (property.NameEquals("boundingBoxes"))
                        {
                            WriteMerged(w, property.Name, property.Value, updates, WriteBoxes);
                        }
                        else if (property.NameEquals("metadata") && property.Value.ValueKind == JsonValueKind.Object)
                        {
                            WriteMerged(w, property.Name, property.Value, updates, WriteMetadata);
                            wroteMetadata = true;
                        }
                        else
                        {
                            property.WriteTo(w);
                        }
                    }
                }
                if (!wroteMetadata)
                {
                    WriteMerged(w, "metadata", null, updates, WriteMetadata);
                }
                w.WriteEndObject();
            }
            stream.Write("\n"u8);
        });
    }

    private static JsonDocument ParseDocument(string path)
    {
        try
        {
            // From a stream, the document keeps the bytes in a pooled buffer: no multi-megabyte array per batch for the
            // GC to collect (large objects are only collected by full collections).
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            return JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{path} is not valid JSON ({e.Message}); fix or remove it, Owlbox will not overwrite it", e);
        }
    }

    private static JsonElement ValidatedBoxes(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new DatasetException($"{path} must be a JSON object");
        }
        if (!root.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var version) || version != 1)
        {
            throw new DatasetException($"{path}: \"version\" must be 1");
        }
        if (!root.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String || t.GetString() != "bounding-box-labels")
        {
            throw new DatasetException($"{path}: \"type\" must be \"bounding-box-labels\"");
        }
        if (!root.TryGetProperty("boundingBoxes", out var boxes) || boxes.ValueKind != JsonValueKind.Object)
        {
            throw new DatasetException($"{path}: \"boundingBoxes\" must be an object mapping image file names to box lists");
        }
        return boxes;
    }

    /// <summary>An object of per-sample entries: existing ones copied or replaced in place, new ones appended.</summary>
    private static void WriteMerged(Utf8JsonWriter w, string name, JsonElement? existing, Dictionary<string, SampleLabels> updates,
        Action<Utf8JsonWriter, SampleLabels> writeEntry)
    {
        w.WriteStartObject(name);
        var written = new HashSet<string>(StringComparer.Ordinal);
        if (existing is { ValueKind: JsonValueKind.Object } entries)
        {
            foreach (var entry in entries.EnumerateObject())
            {
                if (updates.TryGetValue(entry.Name, out var labels))
                {
                    if (written.Add(entry.Name))
                    {
                        w.WritePropertyName(entry.Name);
                        writeEntry(w, labels);
                    }
                }
                else
                {
                    entry.WriteTo(w);
                }
                if (w.BytesPending > 1 << 16)
                {
                    w.Flush(); // the writer buffers everything until flushed: a whole file's bytes otherwise
                }
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

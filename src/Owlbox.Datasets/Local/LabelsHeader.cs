using System.Text.Json;

namespace Owlbox.Datasets.Local;

/// <summary>Which member of the labels file's top level a property is: the two that hold per-sample entries, or
/// another one (checked, then copied or skipped whole).</summary>
public enum LabelsSection
{
    Other,
    BoundingBoxes,
    Metadata,
}

/// <summary>
/// The labels file's top level, checked in one place for the reader and the writer alike: the root is an object,
/// <c>"version"</c> is the number 1 as written (<c>1.0</c> is refused, other tools may read it as another version),
/// <c>"type"</c> is <c>"bounding-box-labels"</c>, <c>"boundingBoxes"</c> an object, Owlbox's optional
/// <c>"metadata"</c> an object, and no top-level key appears twice. Fed one top-level property at a time as it is
/// read, so it needs no file (and holds only the top-level names, a handful).
/// </summary>
public sealed class LabelsHeader(string path)
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>The file's first token: the root must be an object.</summary>
    public void Root(JsonTokenType first)
    {
        if (first != JsonTokenType.StartObject)
        {
            throw new DatasetException($"{path} must be a JSON object");
        }
    }

    /// <summary>A top-level property: its name, its value's first token and, for a string or number, its text
    /// (unescaped string, number as written).</summary>
    /// <returns>The section the value is, so the caller reads its entries or passes it over.</returns>
    public LabelsSection Property(string name, JsonTokenType type, ReadOnlySpan<byte> value)
    {
        if (!_seen.Add(name))
        {
            throw Duplicate(path, $"\"{name}\"");
        }
        return name switch
        {
            "version" => type == JsonTokenType.Number && value.SequenceEqual("1"u8) ? LabelsSection.Other : throw Version(),
            "type" => type == JsonTokenType.String && value.SequenceEqual("bounding-box-labels"u8) ? LabelsSection.Other : throw Type(),
            "boundingBoxes" => type == JsonTokenType.StartObject ? LabelsSection.BoundingBoxes : throw BoundingBoxes(),
            "metadata" => type == JsonTokenType.StartObject ? LabelsSection.Metadata : throw Metadata(),
            _ => LabelsSection.Other,
        };
    }

    /// <summary>The root object's end: the required members were all there.</summary>
    public void End()
    {
        if (!_seen.Contains("version"))
        {
            throw Version();
        }
        if (!_seen.Contains("type"))
        {
            throw Type();
        }
        if (!_seen.Contains("boundingBoxes"))
        {
            throw BoundingBoxes();
        }
    }

    /// <summary>Whether the file had Owlbox's <c>"metadata"</c> (the writer adds it at the end otherwise).</summary>
    public bool HasMetadata => _seen.Contains("metadata");

    private DatasetException Version() => new($"{path}: \"version\" must be 1");

    private DatasetException Type() => new($"{path}: \"type\" must be \"bounding-box-labels\"");

    private DatasetException BoundingBoxes() => new($"{path}: \"boundingBoxes\" must be an object mapping image file names to box lists");

    private DatasetException Metadata() => new($"{path}: \"metadata\" must be an object mapping image file names to key/value objects");

    /// <summary>A key given twice: JSON readers disagree on which one counts, so Owlbox picks neither.</summary>
    internal static DatasetException Duplicate(string path, string field) =>
        new($"{path} is not valid JSON ({field} appears twice; remove one, Owlbox will not guess which is meant); fix or remove it, Owlbox will not overwrite it");

    internal static DatasetException Invalid(string path, JsonException e) =>
        new($"{path} is not valid JSON ({e.Message}); fix or remove it, Owlbox will not overwrite it", e);
}
